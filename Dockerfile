# cachemeter: one image for every role (`serve`, `dashboard`, `migrate`, `collect …`,
# `retention`, `keys …`): the Helm chart picks the command.
#   docker build -t cachemeter .
#   docker run -e DATABASE_URL=postgresql://… -p 8000:8000 cachemeter serve

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY billing billing
COPY ingest ingest
COPY store store
COPY dashboard dashboard
COPY cachemeter cachemeter
COPY migrations migrations
# A regular (not editable) install: the runtime stage needs only /opt/venv.
RUN pip install . && python -m compileall -q /opt/venv

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
