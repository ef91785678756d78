"""The s3-bucket-encryption and ec2-instance-baseline rules written with AWS's rdklib, the way an
rdklib rule author writes them: parameters checked in evaluate_parameters, the decision in
evaluate_change, exemptions (tag `custos:exempt` or the `exemptions` registry) honoured, and
annotations that say why. Deleted and out-of-scope items are rdklib's own NOT_APPLICABLE path.
They decide every corpus item as the Rust rules do (the benchmark checks the counts)."""

import json
import re

from rdklib import ComplianceType, ConfigRule, Evaluation
from rdklib.errors import InvalidParametersError

EXEMPT_TAG = "custos:exempt"
SDK_PARAMETERS = {"exemptions", "ExecutionRoleName", "ExecutionRoleRegion", "AssumeRoleMode"}


def parse_exemption(entry):
    parts = [p.strip() for p in entry.split(";")]
    if not parts[0]:
        raise ValueError("names no rule")
    scope = None if parts[0] == "all" else [n.strip() for n in parts[0].split(",")]
    fields = {}
    for part in parts[1:]:
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in ("until", "reason", "owner"):
            raise ValueError(f"`{part}` is not until, reason or owner")
        fields[key.strip()] = value.strip()
    until = fields.get("until", "")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", until) or not fields.get("reason"):
        raise ValueError("needs until=YYYY-MM-DD and reason=")
    return scope, until, fields["reason"], fields.get("owner")


def exemption(rule, resource_id, tags, registry, today):
    """(compliance, annotation) of an active exemption, a prefix for an expired or malformed
    one, or nothing."""
    found = []
    for entry in registry.get(resource_id, []):
        found.append(parse_exemption(entry) + ("exemption registry",))
    malformed = None
    if EXEMPT_TAG in tags:
        try:
            found.append(parse_exemption(tags[EXEMPT_TAG]) + ("tag custos:exempt",))
        except ValueError as ex:
            malformed = f"ignored tag {EXEMPT_TAG}: {ex}"
    relevant = [e for e in found if e[0] is None or rule in e[0]]
    active = [e for e in relevant if today <= e[1]]
    owner = lambda e: f", owner {e[3]}" if e[3] else ""
    if active:
        e = max(active, key=lambda e: e[1])
        return Evaluation(ComplianceType.NOT_APPLICABLE, annotation=f"exempt until {e[1]} ({e[4]}{owner(e)}): {e[2]}"), None
    if relevant:
        e = max(relevant, key=lambda e: e[1])
        return None, f"exemption expired {e[1]} ({e[4]}{owner(e)}: {e[2]}), evaluated normally"
    return None, malformed


def registry_of(rule_parameters):
    text = rule_parameters.get("exemptions")
    if not text:
        return {}
    raw = json.loads(text)
    return {k: ([v] if isinstance(v, str) else v) for k, v in raw.items()}


def verdict(compliance, annotation, prefix):
    if prefix:
        annotation = f"{prefix}; {annotation}" if annotation else prefix
    return [Evaluation(compliance, annotation=annotation)]


class S3BucketEncryption(ConfigRule):
    NAME = "s3-bucket-encryption"

    def evaluate_parameters(self, rule_parameters):
        unknown = set(rule_parameters) - {"sseAlgorithm", "kmsKeyArns", "inlineRemediation"} - SDK_PARAMETERS
        if unknown:
            raise InvalidParametersError(f"unknown parameter {sorted(unknown)[0]}")
        algorithm = rule_parameters.get("sseAlgorithm") or None
        if algorithm and algorithm not in ("AES256", "aws:kms", "aws:kms:dsse"):
            raise InvalidParametersError(f"sseAlgorithm: {algorithm} is not allowed")
        keys = rule_parameters.get("kmsKeyArns")
        keys = [k.strip() for k in keys.split(",") if k.strip()] if keys else None
        inline = rule_parameters.get("inlineRemediation", "false")
        if inline not in ("true", "false"):
            raise InvalidParametersError("inlineRemediation must be true or false")
        return {"algorithm": algorithm, "keys": keys, "inline": inline == "true", "registry": registry_of(rule_parameters)}

    def evaluate_change(self, event, client_factory, configuration_item, valid_rule_parameters):
        today = configuration_item["configurationItemCaptureTime"][:10]
        exempt, prefix = exemption(self.NAME, configuration_item["resourceId"], configuration_item.get("tags") or {}, valid_rule_parameters["registry"], today)
        if exempt:
            return [exempt]
        supplementary = configuration_item.get("supplementaryConfiguration") or {}
        sse = supplementary.get("ServerSideEncryptionConfiguration")
        if isinstance(sse, str):
            sse = json.loads(sse)
        default = None
        for rule in (sse or {}).get("rules") or []:
            if rule.get("applyServerSideEncryptionByDefault"):
                default = rule["applyServerSideEncryptionByDefault"]
                break
        if default is None:
            return verdict(ComplianceType.NON_COMPLIANT, "bucket has no default encryption", prefix)
        algorithm = default["sseAlgorithm"]
        required = valid_rule_parameters["algorithm"]
        if required and required != algorithm:
            return verdict(ComplianceType.NON_COMPLIANT, f"default encryption is {algorithm}, required {required}", prefix)
        key = default.get("kmsMasterKeyID")
        allowed = valid_rule_parameters["keys"]
        if allowed is not None:
            if key is None:
                return verdict(ComplianceType.NON_COMPLIANT, f"default encryption {algorithm} uses no customer managed key; one of the allowed keys is required", prefix)
            if not any(a == key or (a.endswith(key) and a[: -len(key)].endswith(":key/")) for a in allowed):
                return verdict(ComplianceType.NON_COMPLIANT, f"default encryption {algorithm} uses key {key}, not one of the allowed keys", prefix)
        if key:
            return verdict(ComplianceType.COMPLIANT, f"default encryption {algorithm} with key {key}", prefix)
        return verdict(ComplianceType.COMPLIANT, f"default encryption {algorithm}", prefix)


SECURITY_GROUP = re.compile(r"sg-([0-9a-f]{8}|[0-9a-f]{17})")


class Ec2InstanceBaseline(ConfigRule):
    NAME = "ec2-instance-baseline"

    def evaluate_parameters(self, rule_parameters):
        unknown = set(rule_parameters) - {"requiredTags", "adminSecurityGroupId"} - SDK_PARAMETERS
        if unknown:
            raise InvalidParametersError(f"unknown parameter {sorted(unknown)[0]}")
        try:
            required = json.loads(rule_parameters.get("requiredTags", '{"Owner":"unassigned","CostCenter":"0000"}'))
        except ValueError as ex:
            raise InvalidParametersError(f"requiredTags: {ex}")
        if not isinstance(required, dict):
            raise InvalidParametersError("requiredTags must be a JSON object")
        for key, default in required.items():
            if not isinstance(default, str) or not key.strip() or len(key) > 128 or key.lower().startswith("aws:") or not default.strip() or len(default) > 256:
                raise InvalidParametersError(f"requiredTags: tag `{key}` is not valid")
        group = (rule_parameters.get("adminSecurityGroupId") or "").strip()
        if not SECURITY_GROUP.fullmatch(group):
            raise InvalidParametersError(f"adminSecurityGroupId: `{group}` is not a security group id")
        return {"required": dict(sorted(required.items())), "group": group, "registry": registry_of(rule_parameters)}

    def evaluate_change(self, event, client_factory, configuration_item, valid_rule_parameters):
        configuration = configuration_item.get("configuration") or {}
        state = (configuration.get("state") or {}).get("name")
        if state in ("shutting-down", "terminated"):
            return [Evaluation(ComplianceType.NOT_APPLICABLE, annotation=f"instance is {state}")]
        tags = {t["key"]: t.get("value") or "" for t in configuration.get("tags") or []}
        tags.update({k: v if isinstance(v, str) else "" for k, v in (configuration_item.get("tags") or {}).items()})
        today = configuration_item["configurationItemCaptureTime"][:10]
        exempt, prefix = exemption(self.NAME, configuration_item["resourceId"], tags, valid_rule_parameters["registry"], today)
        if exempt:
            return [exempt]
        required = valid_rule_parameters["required"]
        admin = valid_rule_parameters["group"]
        groups = [g["groupId"] for g in configuration.get("securityGroups") or []]
        missing = []
        for key in required:
            value = tags.get(key)
            if value is None:
                missing.append(key)
            elif not value.strip():
                missing.append(f"{key} (empty)")
        reasons = []
        if missing:
            reasons.append("missing required tags " + ", ".join(missing))
        if admin not in groups:
            reasons.append(f"not in administrator security group {admin} (in {', '.join(groups) if groups else 'no security group'})")
        if reasons:
            return verdict(ComplianceType.NON_COMPLIANT, "; ".join(reasons), prefix)
        carries = "carries " + ", ".join(required) if required else "no tags are required"
        return verdict(ComplianceType.COMPLIANT, f"{carries}; in administrator security group {admin}", prefix)
