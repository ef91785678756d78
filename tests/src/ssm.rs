//! SSM Automation, played by the harness: the emulator records automation executions but never
//! runs them, so remediation documents' steps are carried out here the way SSM would.

use anyhow::{Context, Result};
use aws_config::SdkConfig;

/// `AWS-EnableS3BucketEncryption`: its one step, `PutBucketEncryption` with `SSEAlgorithm`
/// (the document's default is `AES256`) and, for `aws:kms`, `KMSMasterKey`.
pub async fn enable_s3_bucket_encryption(
    config: &SdkConfig,
    bucket_name: &str,
    sse_algorithm: Option<&str>,
    kms_master_key: Option<&str>,
) -> Result<()> {
    let algorithm = sse_algorithm.unwrap_or("AES256");
    let key = kms_master_key.filter(|_| algorithm.starts_with("aws:kms"));
    let s3 = aws_sdk_s3::Client::new(config);
    crate::s3::put_default_encryption(&s3, bucket_name, algorithm, key)
        .await
        .with_context(|| format!("AWS-EnableS3BucketEncryption on {bucket_name}"))
}

/// Carries out one run of an AWS-owned document Config started, with the input Config passed.
/// (A shipped document that invokes a Custos Lambda is run by its test or the demo, which hold
/// the Lambda's handler.)
pub async fn run(
    config: &SdkConfig,
    execution: &crate::config_service::remediation::Execution,
) -> Result<()> {
    let input = &execution.input;
    match execution.document.as_str() {
        "AWS-EnableS3BucketEncryption" => {
            let bucket = input
                .get("BucketName")
                .context("AWS-EnableS3BucketEncryption needs BucketName")?;
            enable_s3_bucket_encryption(
                config,
                bucket,
                input.get("SSEAlgorithm").map(String::as_str),
                input.get("KMSMasterKey").map(String::as_str),
            )
            .await
        }
        other => anyhow::bail!("the harness does not carry out the document {other}"),
    }
}

/// What an `aws:invokeLambdaFunction` step sends: the function it names and the payload.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaInvocation {
    pub function_name: String,
    pub payload: serde_json::Value,
}

/// The invocation the `aws:invokeLambdaFunction` step of `document` (its content, as deployed)
/// makes for the input Config passed: each `{{ Parameter }}` of the step's `FunctionName` and
/// `InputPayload` (or `Payload` text) is the input's value, else the parameter's default, as
/// SSM fills it.
pub fn lambda_invocation(
    document: &serde_json::Value,
    input: &std::collections::BTreeMap<String, String>,
) -> Result<LambdaInvocation> {
    use serde_json::Value;
    let value_of = |name: &str| -> String {
        input.get(name).cloned().unwrap_or_else(|| {
            document["parameters"][name]["default"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
    };
    let fill = |text: &str| -> String {
        let mut out = text.to_owned();
        while let Some(start) = out.find("{{") {
            let Some(len) = out[start..].find("}}") else {
                break;
            };
            let name = out[start + 2..start + len].trim().to_owned();
            out.replace_range(start..start + len + 2, &value_of(&name));
        }
        out
    };
    let step = document["mainSteps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["action"] == "aws:invokeLambdaFunction")
        .context("the document has no aws:invokeLambdaFunction step")?;
    let inputs = &step["inputs"];
    let function_name = fill(
        inputs["FunctionName"]
            .as_str()
            .context("the step names no FunctionName")?,
    );
    let payload = if let Some(payload) = inputs["InputPayload"].as_object() {
        Value::Object(
            payload
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Value::String(fill(v.as_str().unwrap_or_default())),
                    )
                })
                .collect(),
        )
    } else {
        let text = inputs["Payload"]
            .as_str()
            .context("the step has neither InputPayload nor Payload")?;
        serde_json::from_str(&fill(text)).context("the step's Payload is not JSON")?
    };
    Ok(LambdaInvocation {
        function_name,
        payload,
    })
}

/// The Config rule a deployed remediation function acts for: its environment's
/// `CUSTOS_CONFIG_RULE`, as its stack set it (`GetFunctionConfiguration`). The function reads
/// its settings from that rule, so the harness runs its handler with it.
pub async fn function_config_rule(config: &SdkConfig, function_name: &str) -> Result<String> {
    let out = aws_sdk_lambda::Client::new(config)
        .get_function_configuration()
        .function_name(function_name)
        .send()
        .await
        .with_context(|| format!("GetFunctionConfiguration {function_name}"))?;
    out.environment()
        .and_then(|e| e.variables())
        .and_then(|v| v.get(config_rule_sdk::remediation::CONFIG_RULE_ENV))
        .cloned()
        .with_context(|| {
            format!(
                "{function_name} has no {} in its environment",
                config_rule_sdk::remediation::CONFIG_RULE_ENV
            )
        })
}
