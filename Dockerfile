# audioprep CLI image: slim Python, the distribution's ffmpeg (used in preference to the bundled
# one), and the package with its Dask extra, so the same image runs the CLI and Dask workers.
#   docker run --rm -v "$PWD:/work" audioprep run samples/ --sandbox --submit --to 35699000002
#   docker run --rm --network host --entrypoint dask audioprep worker tcp://HOST:8786
FROM python:3.11-slim

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/audioprep
COPY pyproject.toml README.md ./
COPY audioprep ./audioprep
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[dask]" \
    && useradd --create-home --uid 1000 audioprep

USER 1000
WORKDIR /work
ENTRYPOINT ["audioprep"]
CMD ["--help"]
