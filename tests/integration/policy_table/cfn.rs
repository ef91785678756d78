//! A rendered template as one stack instance of it would hold it: parameters given, pseudo
//! parameters of an account and region, conditions decided, and `!Ref`, `!Sub`, `!GetAtt` and
//! `!If` worked out into the plain JSON policies AWS would evaluate. Physical names follow
//! CloudFormation's (names the template gives; generated ones for roles).

use std::collections::BTreeMap;

use deployer::packs::yaml::{self, Node, Value as Yaml};
use serde_json::{Value, json};

/// One stack of a rendered template in one account and region.
pub(crate) struct Stack {
    template: Node,
    pub(crate) account: String,
    pub(crate) region: String,
    /// The stack's name, the prefix of generated names.
    pub(crate) name: String,
    parameters: BTreeMap<String, String>,
    conditions: BTreeMap<String, bool>,
}

/// The mark of `!Ref AWS::NoValue`: the item or key is left out.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Stack {
    pub(crate) fn new(
        body: &str,
        name: &str,
        account: &str,
        region: &str,
        parameters: &BTreeMap<String, String>,
        conditions: &[(&str, bool)],
    ) -> Self {
        let template = yaml::parse(body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut all = BTreeMap::new();
        if let Some(declared) = template.get("Parameters").and_then(Node::as_map) {
            for (key, spec) in declared {
                let key = key.as_str().unwrap_or_default().to_owned();
                let default = spec
                    .get("Default")
                    .and_then(Node::as_str)
                    .map(str::to_owned);
                if let Some(value) = parameters.get(&key).cloned().or(default) {
                    all.insert(key, value);
                }
            }
        }
        Self {
            template,
            account: account.to_owned(),
            region: region.to_owned(),
            name: name.to_owned(),
            parameters: all,
            conditions: conditions
                .iter()
                .map(|(c, v)| ((*c).to_owned(), *v))
                .collect(),
        }
    }

    /// The resource `logical`'s node.
    pub(crate) fn resource(&self, logical: &str) -> &Node {
        self.template
            .get("Resources")
            .and_then(|r| r.get(logical))
            .unwrap_or_else(|| panic!("{}: no resource {logical}", self.name))
    }

    /// The logical ids of the resources of `kind`.
    pub(crate) fn resources_of_type(&self, kind: &str) -> Vec<String> {
        self.template
            .get("Resources")
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Node::as_str) == Some(kind))
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect()
    }

    /// A property of a resource, worked out.
    pub(crate) fn property(&self, logical: &str, path: &[&str]) -> Value {
        let mut node = self.resource(logical).get("Properties");
        for key in path {
            node = node.and_then(|n| n.get(key));
        }
        node.map_or(Value::Null, |n| self.resolve(n))
    }

    /// The ARN of resource `logical` (`!GetAtt X.Arn`).
    pub(crate) fn arn(&self, logical: &str) -> String {
        let (a, r) = (&self.account, &self.region);
        let kind = self
            .resource(logical)
            .get("Type")
            .and_then(Node::as_str)
            .unwrap_or_default();
        let name = self.physical_name(logical);
        match kind {
            "AWS::S3::Bucket" => format!("arn:aws:s3:::{name}"),
            "AWS::Lambda::Function" => format!("arn:aws:lambda:{r}:{a}:function:{name}"),
            "AWS::IAM::Role" => {
                let path = self
                    .property(logical, &["Path"])
                    .as_str()
                    .unwrap_or("/")
                    .to_owned();
                format!("arn:aws:iam::{a}:role{path}{name}")
            }
            "AWS::SNS::Topic" => format!("arn:aws:sns:{r}:{a}:{name}"),
            "AWS::Logs::LogGroup" => format!("arn:aws:logs:{r}:{a}:log-group:{name}:*"),
            "AWS::Events::Rule" => format!("arn:aws:events:{r}:{a}:rule/{name}"),
            "AWS::Config::ConfigRule" => format!("arn:aws:config:{r}:{a}:config-rule/{name}"),
            other => panic!("{}: no ARN for {logical} of type {other}", self.name),
        }
    }

    /// The name the resource gets: the one the template gives, else one CloudFormation makes.
    fn physical_name(&self, logical: &str) -> String {
        let given = |key: &str| self.property(logical, &[key]).as_str().map(str::to_owned);
        given("BucketName")
            .or_else(|| given("FunctionName"))
            .or_else(|| given("TopicName"))
            .or_else(|| given("LogGroupName"))
            .or_else(|| given("RoleName"))
            .or_else(|| given("Name"))
            .or_else(|| given("ConfigRuleName").map(|_| "config-rule-0a1b2c".to_owned()))
            .unwrap_or_else(|| format!("{}-{logical}-1A2B3C4D5E6F", self.name))
    }

    /// What `!Ref logical` gives.
    fn reference(&self, name: &str) -> Value {
        match name {
            "AWS::AccountId" => return json!(self.account),
            "AWS::Region" => return json!(self.region),
            "AWS::Partition" => return json!("aws"),
            "AWS::NoValue" => return json!(NO_VALUE),
            _ => {}
        }
        if let Some(value) = self.parameters.get(name) {
            let list = self
                .template
                .get("Parameters")
                .and_then(|p| p.get(name))
                .and_then(|p| p.get("Type"))
                .and_then(Node::as_str)
                == Some("CommaDelimitedList");
            return if list {
                json!(value.split(',').collect::<Vec<_>>())
            } else {
                json!(value)
            };
        }
        let kind = self
            .resource(name)
            .get("Type")
            .and_then(Node::as_str)
            .unwrap_or_default();
        match kind {
            // A topic's Ref is its ARN; the others', their name.
            "AWS::SNS::Topic" => json!(self.arn(name)),
            _ => json!(self.physical_name(name)),
        }
    }

    /// `${Name}` and `${Resource.Attribute}` of a `!Sub` string.
    fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("a closed ${…}") + start;
            let name = &rest[start + 2..end];
            let value = match name.split_once('.') {
                Some((logical, "Arn")) => self.arn(logical),
                Some(_) => panic!("{}: unsupported ${{{name}}}", self.name),
                None => self.reference(name).as_str().unwrap_or_default().to_owned(),
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A node with its intrinsic functions worked out.
    pub(crate) fn resolve(&self, node: &Node) -> Value {
        match node.tag.as_deref() {
            Some("Ref") => return self.reference(node.as_str().unwrap_or_default()),
            Some("Sub") => return json!(self.substitute(node.as_str().unwrap_or_default())),
            Some("GetAtt") => {
                let target = node.as_str().unwrap_or_default();
                let logical = target
                    .strip_suffix(".Arn")
                    .unwrap_or_else(|| panic!("{}: unsupported !GetAtt {target}", self.name));
                return json!(self.arn(logical));
            }
            Some("If") => {
                let items = node.as_seq().expect("!If takes a list");
                let condition = items[0].as_str().unwrap_or_default();
                let holds = *self
                    .conditions
                    .get(condition)
                    .unwrap_or_else(|| panic!("{}: condition {condition} not decided", self.name));
                return self.resolve(&items[if holds { 1 } else { 2 }]);
            }
            Some(other) => panic!("{}: unsupported !{other}", self.name),
            None => {}
        }
        match &node.value {
            Yaml::Scalar { text, .. } => json!(text),
            Yaml::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.resolve(i))
                    .filter(|v| v != NO_VALUE)
                    .collect(),
            ),
            Yaml::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), self.resolve(v)))
                    .filter(|(_, v)| v != NO_VALUE)
                    .collect(),
            ),
        }
    }

    /// The inline policies of role `logical`, as one identity policy each.
    pub(crate) fn role_policies(&self, logical: &str) -> Vec<Value> {
        self.property(logical, &["Policies"])
            .as_array()
            .map(|policies| {
                policies
                    .iter()
                    .map(|p| p["PolicyDocument"].clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The trust policy of role `logical`.
    pub(crate) fn trust_policy(&self, logical: &str) -> Value {
        self.property(logical, &["AssumeRolePolicyDocument"])
    }

    /// The resource policy AWS Lambda keeps for the function `function` from every
    /// `AWS::Lambda::Permission` of the stack naming it, written as Lambda writes it.
    pub(crate) fn function_policy(&self, function: &str) -> Value {
        let arn = self.arn(function);
        let statements: Vec<Value> = self
            .resources_of_type("AWS::Lambda::Permission")
            .iter()
            .filter(|p| self.property(p, &["FunctionName"]) == json!(arn))
            .map(|p| {
                let mut condition = serde_json::Map::new();
                if let Some(account) = self.property(p, &["SourceAccount"]).as_str() {
                    condition.insert(
                        "StringEquals".into(),
                        json!({ "AWS:SourceAccount": account }),
                    );
                }
                if let Some(source) = self.property(p, &["SourceArn"]).as_str() {
                    condition.insert("ArnLike".into(), json!({ "AWS:SourceArn": source }));
                }
                // A role ARN is an AWS principal; anything else a service.
                let principal = self.property(p, &["Principal"]);
                let kind = if principal.as_str().is_some_and(|a| a.starts_with("arn:")) {
                    "AWS"
                } else {
                    "Service"
                };
                json!({
                    "Sid": p,
                    "Effect": "Allow",
                    "Principal": { kind: principal },
                    "Action": self.property(p, &["Action"]),
                    "Resource": arn,
                    "Condition": condition,
                })
            })
            .collect();
        json!({ "Version": "2012-10-17", "Statement": statements })
    }

    /// The policy document of the first resource of `kind` (a bucket or topic policy).
    pub(crate) fn policy_document(&self, kind: &str) -> Value {
        let logical = self
            .resources_of_type(kind)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{}: no {kind}", self.name));
        self.property(&logical, &["PolicyDocument"])
    }
}
