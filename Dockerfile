# latticeguard container image. Build: docker build -t latticeguard:dev .
# Two stages: the build stage compiles with the same Debian packages as scripts/deps; the runtime
# stage holds only the binary and the shared libraries it links, and runs as a non-root user.
# Pin the base images by digest in release pipelines (debian:bookworm@sha256:...).

FROM debian:bookworm AS build
# Build dependencies (the library subset of scripts/deps; tests are not built here).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libcpp-httplib-dev libssl-dev nlohmann-json3-dev rapidjson-dev libre2-dev libspdlog-dev libfmt-dev \
      libfyaml-dev libcli11-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLATTICEGUARD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" \
 && cmake --install build --prefix /out/usr --strip

FROM debian:bookworm-slim AS runtime
# Runtime libraries only: what `ldd latticeguard` lists beyond libc/libstdc++.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcpp-httplib0.11 libssl3 libre2-9 libspdlog1.10 libfmt9 libfyaml0 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/bin/latticeguard /usr/bin/latticeguard
# kubectl plugin name: `kubectl latticeguard lint -f ...` works when this is on PATH.
RUN ln -s /usr/bin/latticeguard /usr/bin/kubectl-latticeguard
# 65532 is the conventional "nonroot" uid/gid (distroless); the manifests run with it too.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/bin/latticeguard"]
CMD ["serve"]
