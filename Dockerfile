# One image for both services; the command picks the role:
#   docker run IMAGE npm run start:gateway   |   docker run IMAGE npm run start:worker
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY packages ./packages
COPY services ./services
# Dev dependencies stay: tsx runs the TypeScript sources and the Prisma CLI generates the client.
RUN npm ci --no-audit --no-fund
USER node
EXPOSE 3000
CMD ["npm", "run", "start:gateway"]
