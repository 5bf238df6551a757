# cachemeter: one image for every role (`serve`, `dashboard`, `migrate`, `collect …`,
# `retention`, `keys …`): the Helm chart picks the command.
#   docker build -t cachemeter .
#   docker run -e DATABASE_URL=postgresql://… -p 8000:8000 cachemeter serve

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# The build context is the checkout less .dockerignore: the sources the wheel is built from.
COPY . /src
# The wheel, no extras, into /opt/venv: the same script tests/test_wheel.py installs and runs
# the package with, so the image holds what the tests checked. The runtime stage needs only
# /opt/venv.
RUN sh /src/scripts/install-wheel /src /opt/venv && /opt/venv/bin/python -m compileall -q /opt/venv

FROM python:3.11-slim
RUN groupadd --system --gid 10001 cachemeter \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin cachemeter
COPY --from=build /opt/venv /opt/venv
# Nothing is written outside /tmp (the chart mounts an emptyDir there), so the root
# filesystem can be read-only; bytecode was compiled at build time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CACHEMETER_HOST=0.0.0.0 \
    CACHEMETER_PORT=8000 \
    CACHEMETER_DATA_DIR=/tmp/cachemeter
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["cachemeter"]
CMD ["serve"]
