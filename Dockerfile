# OpenIoTFog image: the `iotfog` binary (driver side or agent). Build: docker build -t openiotfog/iotfog .
# Multi-arch: node:20-bookworm-slim exists for amd64 and arm64; zeromq ships prebuilt addons for both.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY shared/package.json shared/
COPY edge-agent/package.json edge-agent/
COPY vim-driver/package.json vim-driver/
COPY cli/package.json cli/
RUN npm ci --no-audit --no-fund
COPY shared shared
COPY edge-agent edge-agent
COPY vim-driver vim-driver
COPY cli cli
RUN npx tsc -b && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /opt/openiotfog
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/shared shared
COPY --from=build /src/edge-agent edge-agent
COPY --from=build /src/vim-driver vim-driver
COPY --from=build /src/cli cli
ENV NODE_ENV=production
ENTRYPOINT ["node", "/opt/openiotfog/cli/bin/iotfog.js"]
CMD ["--help"]
