import sys

from perfaction.cli.main import main

sys.exit(main())
