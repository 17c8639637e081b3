# One image for the Dirigent runtime (default command), the worker (`dirigent worker`)
# and the studio (`dirigent studio`); see compose.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REFLEX_USE_SYSTEM_BUN=1 \
    DIRIGENT_DATA_DIR=/data

# Node and bun build the Reflex studio's frontend.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm unzip \
    && npm install -g bun \
    && rm -rf /var/lib/apt/lists/* /root/.npm

# The CPU build of torch first, so that nothing below pulls the multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

RUN useradd --create-home --uid 1000 dirigent \
    && mkdir -p /app /data && chown dirigent:dirigent /app /data
WORKDIR /app

COPY --chown=dirigent:dirigent pyproject.toml README.md ./
COPY --chown=dirigent:dirigent runtime runtime
COPY --chown=dirigent:dirigent nodes nodes
COPY --chown=dirigent:dirigent starters starters
COPY --chown=dirigent:dirigent studio studio
# Editable, so that starters/ and studio/ (data and app, not packages) are found beside
# the code. The core dependencies are what the runtime and worker need to start; the extras
# are what this image serves besides: `knowledge` (embedded index, file parsers, Marqo's
# client) and `studio` (compose's studio service runs `dirigent studio`). tests/test_ci_files.py
# checks that these extras exist in pyproject.toml.
RUN pip install -e ".[knowledge,studio]"

USER dirigent
VOLUME /data
EXPOSE 8000 3000
CMD ["dirigent", "serve", "--host", "0.0.0.0", "--port", "8000"]
