# One image for both processes of the order service: the Temporal worker (the default command) and the
# HTTP trigger API (`node dist/api/server.js`). Built in stages: the build stage has every dependency and
# runs `npm run build` (src/ compiled to dist/, the workflow code prebundled in dist/workflow-bundle*.js);
# the runtime stage gets only production dependencies and dist/, and runs plain node.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/build.ts
COPY src ./src
# The build ID the worker joins its worker deployment as (package version + commit; RUN sees the ARG as an
# environment variable): the context has no .git.
ARG GIT_COMMIT=unknown
RUN npm run build

# Production dependencies alone, so no compiler, tsx or test tooling reaches the runtime stage. The lockfile
# carries the prebuilt native packages (Temporal core bridge, swc) for linux x64 and arm64.
FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# package.json marks dist/*.js as ES modules ("type": "module").
COPY package.json ./
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# The files stay root-owned, read-only to the process, which runs as the image's unprivileged user. node
# is the process itself (no npm or shell in between), so SIGTERM reaches it: the worker and the API handle
# SIGTERM and SIGINT and stop gracefully, even as PID 1; docker-compose.yml adds tini (`init: true`).
USER node
EXPOSE 3000
CMD ["node", "dist/worker.js"]
