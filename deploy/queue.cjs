// Queue control's parameters (docs/queue.md), read once and checked at package time: a value the
// functions would refuse at INIT fails `serverless package` with one message naming the
// parameter. serverless.yml and deploy/queue.yml read the checked values from here
// (`${file(./deploy/queue.cjs):name}`); deploy/scaling.yml reads `countsQueue`.

// src/lib/domain/admission.ts's TENANT_PATTERN; a weight is a positive number, a cap a whole one.
const TENANT = /^[A-Za-z0-9._-]{1,64}$/;

/** `teamA=3:20,teamB=1` (tenant=weight[:maxInFlight]); empty: every tenant weight 1, no cap. */
function checkQuotas(raw) {
  const text = String(raw ?? '').trim();
  if (!text) return '';
  for (const entry of text.split(',')) {
    const m = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(entry.trim());
    const weight = m && Number(m[2]);
    const cap = m?.[3];
    if (
      !m ||
      !TENANT.test(m[1]) ||
      !(weight > 0) ||
      (cap !== undefined && !/^[1-9]\d*$/.test(cap))
    ) {
      throw new Error(
        `param tenantQuotas: "${entry.trim()}" is not tenant=weight[:maxInFlight] (e.g. teamA=3:20)`,
      );
    }
  }
  return text;
}

/** Checks the parameters as a deploy would use them and returns them typed; pure, for the tests. */
function queue(p) {
  const admission = String(p.admission ?? 'off').trim();
  if (admission !== 'on' && admission !== 'off') {
    throw new Error(`param admission: "${admission}" is neither on nor off`);
  }
  const concurrency = String(p.perInstanceConcurrency ?? '1').trim();
  // MaxConcurrentInvocationsPerInstance: 1 to 1000 (SageMaker API reference,
  // AsyncInferenceClientConfig).
  if (!/^\d+$/.test(concurrency) || Number(concurrency) < 1 || Number(concurrency) > 1000) {
    throw new Error(`param perInstanceConcurrency: "${concurrency}" is not a whole number 1..1000`);
  }
  return {
    admission,
    // The dispatcher's triggers run only with admission on: off, the stack is today's, with no
    // tick every minute and no queue polled.
    enabled: admission === 'on',
    perInstanceConcurrency: concurrency,
    tenantQuotas: checkQuotas(p.tenantQuotas),
    // A string for Fn::Equals (deploy/scaling.yml's CountsQueue condition).
    countsQueue: admission === 'on' ? 'yes' : 'no',
  };
}

const PARAMS = ['admission', 'perInstanceConcurrency', 'tenantQuotas'];

module.exports = async ({ resolveVariable }) => {
  const p = {};
  for (const name of PARAMS) p[name] = await resolveVariable(`param:${name}`);
  return queue(p);
};
module.exports.queue = queue;
