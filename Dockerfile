# syntax=docker/dockerfile:1
#
# dirsync container image: compiled in the Swift toolchain image, run on Debian slim.
#
#   docker build -t dirsync:0.1.0 .
#   docker run --rm -e DATABASE_URL=… dirsync:0.1.0 migrate
#   docker run --rm -e DATABASE_URL=… -e AZURE_CLIENT_ID=… -e AZURE_CLIENT_SECRET=… dirsync:0.1.0 run
#
# Both stages are Debian 12 (bookworm), so the libcurl, libpq and libcrypto the binary was linked
# against are the ones the runtime installs. The Swift runtime and Foundation are linked statically;
# the migrations are compiled into the binary, so nothing but the binary is copied.

ARG SWIFT_VERSION=6.3

# ---- build -------------------------------------------------------------------------------------
FROM swift:${SWIFT_VERSION}-bookworm AS build

# The -dev packages Package.swift's system library targets name (CCurl, CLibPQ, COpenSSL).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libcurl4-openssl-dev libpq-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Dependencies first, so editing a source file does not refetch them.
COPY Package.* ./
RUN swift package resolve
COPY . .
RUN swift build -c release --product dirsync --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/dirsync" /out/dirsync

# ---- runtime -----------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# A --static-swift-stdlib build of dirsync links, besides glibc, only libcurl.so.4, libpq.so.5,
# libcrypto.so.3 and libstdc++.so.6 (ldd): libcurl4 (Graph over HTTPS), libpq5 (PostgreSQL),
# libssl3 (libcrypto: certificate credentials), ca-certificates (TLS to Graph and the identity
# platform). libstdc++6 is already in the base image (apt needs it).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libcurl4 libpq5 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric UID, so Kubernetes can verify runAsNonRoot; it owns nothing in the image.
RUN groupadd --system --gid 65532 dirsync \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin dirsync

COPY --from=build /out/dirsync /usr/local/bin/dirsync

# dirsync writes nothing to disk, so the root filesystem can be mounted read-only.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/dirsync"]
CMD ["run"]
