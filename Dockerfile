# The image a job builds for `uses: OWNER/perf-regression-action@REF`, and the
# one the release workflow pushes prebuilt (docs/docker.md, docs/release.md).
# Debian slim is stock on every runner and Python comes from Debian, so the
# build needs the Debian and PyPI package indexes and nothing else.
FROM debian:trixie-slim

# - dpkg excludes: docs, man pages and translations are never read here; stock
#   slim images already drop them, this keeps any base as lean.
# - git: same-runner mode checks out the base commit. The runner mounts the
#   workspace owned by another uid, which git refuses without safe.directory.
# - DL3008 (pin apt versions) is ignored: Debian replaces a pinned version with
#   its security update, after which a pinned install fails. The suite pins.
# hadolint ignore=DL3008
RUN printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-exclude=/usr/share/man/*' \
        'path-exclude=/usr/share/info/*' 'path-exclude=/usr/share/locale/*' \
        > /etc/dpkg/dpkg.cfg.d/perfaction-slim \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv git \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*' \
 && python3 -m venv /opt/venv

# Valgrind for instruction mode (measure: instructions), callgrind alone: the
# package brings every tool for two architectures, headers, static libraries
# and glibc's debug symbols (about 100 MB), of which instruction counting
# needs the launcher, callgrind, the preloaded core and the default
# suppressions (about 6.5 MB). The package stays registered, its other files go.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends valgrind \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && for f in $(dpkg -L valgrind libc6-dbg); do \
        if [ -f "$f" ] || [ -L "$f" ]; then case "$f" in \
            /usr/bin/valgrind|/usr/bin/valgrind.bin) ;; \
            /usr/libexec/valgrind/callgrind-*-linux) ;; \
            /usr/libexec/valgrind/vgpreload_core-*-linux.so) ;; \
            /usr/libexec/valgrind/default.supp) ;; \
            *) rm -f "$f" ;; esac; fi; done \
 && valgrind --tool=callgrind --version

# Two environments. /opt/venv is the action's: perfaction and its statistics,
# GitHub client and templates. /opt/project is the project's: first on PATH,
# so a user's setup-command ("pip install -r ...") installs there, and the
# benchmark workers run its interpreter (PERFACTION_PROJECT_PYTHON). A user's
# pin of numpy or scipy then cannot change the action's statistics, and the
# action's pins cannot break the user's install. The project sees perfaction
# itself (the worker is standard library only) and nothing else of the action.
ENV PATH=/opt/project/bin:/opt/venv/bin:$PATH \
    PERFACTION_PROJECT_PYTHON=/opt/project/bin/python \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /opt/perfaction

# Dependencies before the code, read from pyproject.toml alone, so a code
# change reuses this large layer. Test suites shipped in wheels are dropped.
# The .pth line: the action runs as root in a workspace the runner's user
# owns, so code imported at job time must write no __pycache__ there. The
# benchmark workers run with -E (PYTHONDONTWRITEBYTECODE ignored) and Debian's
# own sitecustomize shadows a venv one, so the venv's site-packages says it;
# the image's precompiled bytecode is still read.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(p['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt \
 && find /opt/venv/lib -depth -type d -name tests -path '*/site-packages/*' -exec rm -rf {} + \
 && printf '%s\n' 'import sys; sys.dont_write_bytecode = True' \
        > "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zz-no-bytecode.pth"

# The code, as the wheel a user gets from `pip install`: built from the source
# tree with the build backend Debian ships among python3-venv's wheels (no
# download, and setuptools stays out of the image), installed like any
# package, and the tree removed. The templates are package data inside it.
COPY README.md pyproject.toml ./src/
COPY perfaction/ ./src/perfaction/
COPY entrypoint.py ./
RUN pip wheel --no-cache-dir --no-deps --no-index --find-links /usr/share/python-wheels \
        --wheel-dir /tmp/wheel ./src \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps /tmp/wheel/perfaction-*.whl \
 && rm -rf /tmp/wheel ./src \
 && python -m compileall -q entrypoint.py \
 && python3 -m venv /opt/project \
 && mkdir /opt/perfaction/project-path \
 && cp -r "$(/opt/venv/bin/python -c 'import perfaction, os; print(os.path.dirname(perfaction.__file__))')" \
        /opt/perfaction/project-path/ \
 && project_site="$(/opt/project/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && echo /opt/perfaction/project-path > "$project_site/perfaction-worker.pth" \
 && printf '%s\n' 'import sys; sys.dont_write_bytecode = True' > "$project_site/zz-no-bytecode.pth"

# After the installs, which precompile everything the image ships.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# The runner overrides WORKDIR with the workspace and runs as root (USER is
# not supported for Docker actions): the entrypoint is absolute.
ENTRYPOINT ["/opt/venv/bin/python", "/opt/perfaction/entrypoint.py"]
