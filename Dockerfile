# bac-metrics container image (docs/DEPLOY.md): build in a Rust image, run in a slim Debian
# with only libpq and CA certificates, as an unprivileged user.
#
#   docker build -t bac-metrics .
#   docker run --rm -p 8080:8080 \
#     -e DATABASE_URL=postgres://bac@primary/bac_metrics -e JWT_SECRET=... -e PSEUDONYM_KEY=... \
#     -e DATABASE_REPLICA_URLS=postgres://bac@replica-1/bac_metrics bac-metrics

FROM rust:1.88-bookworm AS build
WORKDIR /src
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first, so a change to the sources does not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src benches tests/integration \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > benches/mixed_load.rs && touch tests/integration/main.rs \
 && mkdir migrations \
 && cargo build --release --locked --bin bac-metrics \
 && rm -rf src benches tests migrations
COPY src src
COPY migrations migrations
COPY assets assets
COPY docs docs
COPY benches benches
COPY tests tests
# The real sources are newer than the stub's build: touch so cargo rebuilds the crate itself.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin bac-metrics \
 && strip target/release/bac-metrics

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 bac \
 && useradd --system --uid 10001 --gid bac --home-dir /nonexistent --shell /usr/sbin/nologin bac
COPY --from=build /src/target/release/bac-metrics /usr/local/bin/bac-metrics
USER 10001:10001
# A container always talks to an external PostgreSQL (DATABASE_URL); DATA_DIR is never used.
ENV APP_ENV=production \
    BIND=0.0.0.0:8080 \
    LOG_FORMAT=json \
    DATA_DIR=/tmp/bac-metrics
EXPOSE 8080
# The load balancer's readiness check is GET /readyz; liveness is GET /healthz.
ENTRYPOINT ["/usr/local/bin/bac-metrics"]
CMD ["serve"]
