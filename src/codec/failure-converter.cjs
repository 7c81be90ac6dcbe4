// Plain CommonJS: the worker, the clients and the workflow bundle all load it by path (failureConverterPath).
// Messages and stack traces go into a payload, so the payload codec encrypts them like any other.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
