//! What can go wrong in a rule invocation, by kind.

use crate::event::EventError;
use crate::item::ItemError;
use crate::meta::MetaError;
use crate::params::ParameterError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Parameter(#[from] ParameterError),
    #[error("configuration item {resource}: {source}")]
    Item { resource: String, source: ItemError },
    #[error("resource type {resource_type} is not in the scope of {rule} ({scope})")]
    OutOfScope {
        resource_type: String,
        rule: String,
        scope: String,
    },
    #[error("{0}")]
    UnexpectedTrigger(&'static str),
    #[error("the event has neither a capture time nor a notification time to order the result by")]
    MissingTime,
    #[error("{operation} failed: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
    #[error("{count} evaluations were still refused by PutEvaluations after {attempts} attempts")]
    Unsent { count: usize, attempts: usize },
    #[error("gathering facts failed: {0}")]
    Gather(String),
    #[error(transparent)]
    Meta(#[from] MetaError),
}

impl RuleError {
    /// A stable category, used as the Lambda error type Config shows.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::Parameter(_) => "InvalidParameter",
            Self::Item { .. } => "InvalidConfigurationItem",
            Self::OutOfScope { .. } => "UnsupportedResourceType",
            Self::UnexpectedTrigger(_) => "UnexpectedTrigger",
            Self::MissingTime => "MissingTime",
            Self::Aws { .. } => "AwsError",
            Self::Unsent { .. } => "EvaluationsNotAccepted",
            Self::Gather(_) => "GatherFailed",
            Self::Meta(_) => "InvalidRuleMetadata",
        }
    }

    /// Wraps an SDK error with the operation, printing its whole context (an `SdkError`'s own
    /// `Display` is a bare "service error").
    pub fn aws<E: std::error::Error + 'static>(operation: &'static str, err: E) -> Self {
        Self::Aws {
            operation,
            message: aws_smithy_types::error::display::DisplayErrorContext(err).to_string(),
        }
    }
}

impl From<RuleError> for lambda_runtime::Diagnostic {
    fn from(err: RuleError) -> Self {
        Self {
            error_type: err.kind().to_owned(),
            error_message: err.to_string(),
        }
    }
}
