// The environment every test starts from: the `local` stage's names (the same ones events/ uses),
// emulator credentials, and a silent logger unless a test turns it on.
const defaults: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  ENDPOINT_NAME: 'demo-endpoint',
  INPUT_BUCKET: 'async-jobs-local-input',
  INPUT_PREFIX: 'inputs/',
  OUTPUT_BUCKETS: 'async-jobs-local-output',
  JOBS_TABLE: 'async-jobs-local-jobs',
  SUCCESS_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-success',
  ERROR_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-error',
  INLINE_RESULT_MAX_BYTES: '65536',
  JOB_TTL_DAYS: '30',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
};
for (const [k, v] of Object.entries(defaults)) process.env[k] ??= v;
delete process.env.AWS_PROFILE;

// The SDK warns once per process that its 2027 releases need Node 22; CI runs Node 20 on purpose.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (text.startsWith('NodeVersionSupportWarning')) return;
  (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
