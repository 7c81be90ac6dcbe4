// Loaded by path (DataConverter.failureConverterPath) by the worker, the clients and the workflow
// bundle alike, so it is plain CommonJS that every loader can require. Error messages and stack traces
// go into a payload, which the payload codec then encrypts like any other.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
