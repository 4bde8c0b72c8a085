# The pipeline's image: the `moovitamix` command (worker, simulator, CLI).
# Node 24, the active LTS (the suite runs on 20, 22 and 24: docs/development.md).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: see docs/development.md for why the lockfile lacks some optional packages.
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# The dashboard's page, script and styles, served as they are by `moovitamix serve`.
COPY --from=build /app/service/static ./service/static
USER node
ENTRYPOINT ["node", "bin/moovitamix.js"]
