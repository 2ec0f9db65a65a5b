# duet in a container: the same make targets as everywhere, then a distroless image.
# Build: docker build -t duet .    Run: docker run -p 8080:8080 -v duet-data:/data duet

FROM node:20-bookworm AS build
COPY --from=golang:1.26.8-bookworm /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:$PATH GOTOOLCHAIN=local
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# make build = templ generate (a no-op: the output is committed) + assets + go build
RUN make build && mkdir -p /data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/duet /duet
COPY --from=build --chown=65532:65532 /data /data
ENV ADDR=:8080 DATA_DIR=/data LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s CMD ["/duet", "-healthcheck"]
ENTRYPOINT ["/duet"]
