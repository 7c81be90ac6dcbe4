# One image for both processes of the order service: the Temporal worker (the default command) and
# the HTTP trigger API (`npm run api`). tsx is a runtime dependency that runs the TypeScript sources
# directly, so there is no compile step: production dependencies, src/ and tsconfig.json are enough.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Dependencies first, so this layer is reused while only the sources change. The lockfile carries the
# prebuilt native packages (Temporal core bridge, swc) for linux x64 and arm64.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src

# The files stay root-owned, read-only to the process, which runs as the image's unprivileged user.
USER node
EXPOSE 3000
CMD ["npm", "run", "worker"]
