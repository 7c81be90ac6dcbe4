/**
 * The development key of the local stack (`npm start`) and of the recorded test histories. It is
 * public, in this repository: it protects nothing and must never be used outside a laptop.
 */
export const DEV_CODEC_KEYS = 'local-dev:EWq7nioEbUUnuarEWScMFIp4it5SLm7OjWIMuSGtTYc=';
