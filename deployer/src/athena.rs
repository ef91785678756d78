//! The Glue database and tables that let Athena query the history store's layout in S3
//! (`templates/history-athena.yaml.tera`): the same tables, columns and partitions as the
//! local engine, with partition projection so no crawler or `MSCK REPAIR` is needed.

use custos_history::Kind;
use custos_history::batch::{DataType, schema};
use serde::Serialize;
use tera::{Context, Tera};

/// The regions partition projection enumerates when none are given.
pub const DEFAULT_REGIONS: &str = "us-east-1,us-east-2,us-west-1,us-west-2,ca-central-1,eu-west-1,eu-west-2,eu-west-3,eu-central-1,eu-central-2,eu-north-1,eu-south-1,eu-south-2,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-southeast-1,ap-southeast-2,ap-southeast-3,ap-southeast-4,ap-south-1,ap-south-2,ap-east-1,sa-east-1,me-south-1,me-central-1,af-south-1,il-central-1";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AthenaError {
    #[error("--location must be an S3 URI such as s3://bucket/history, not `{0}`")]
    Location(String),
    #[error("--database must be lower-case letters, digits and underscores, not `{0}`")]
    Database(String),
    #[error("rendering templates/history-athena.yaml.tera")]
    Tera(#[source] tera::Error),
}

#[derive(Serialize)]
struct Column {
    name: String,
    r#type: &'static str,
}

#[derive(Serialize)]
struct Table {
    logical_id: String,
    name: &'static str,
    description: &'static str,
    columns: Vec<Column>,
}

fn glue_type(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Timestamp(..) => "timestamp",
        _ => "string",
    }
}

fn description(kind: Kind) -> &'static str {
    match kind {
        Kind::Items => "Config configuration items, in AWS's item shape (column item).",
        Kind::Trail => "CloudTrail management events (column record).",
        Kind::Evaluations => "Config rule evaluation results.",
        Kind::Remediations => "Custos remediation records.",
    }
}

/// Renders the template for a store at `location` (`s3://bucket/prefix`).
pub fn render(location: &str, database: &str, first_date: &str) -> Result<String, AthenaError> {
    let location = location.trim_end_matches('/');
    let valid_location = location.strip_prefix("s3://").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._/=".contains(&b))
    });
    if !valid_location {
        return Err(AthenaError::Location(location.to_owned()));
    }
    if database.is_empty()
        || !database
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(AthenaError::Database(database.to_owned()));
    }
    let tables: Vec<Table> = Kind::ALL
        .iter()
        .map(|kind| {
            let name = kind.name();
            Table {
                logical_id: format!("{}{}Table", name[..1].to_uppercase(), &name[1..]),
                name,
                description: description(*kind),
                columns: schema(*kind)
                    .fields()
                    .iter()
                    .map(|f| Column {
                        name: f.name().clone(),
                        r#type: glue_type(f.data_type()),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut context = Context::new();
    context.insert("location", location);
    context.insert("database", database);
    context.insert("first_date", first_date);
    context.insert("regions", DEFAULT_REGIONS);
    context.insert("tables", &tables);
    let mut tera = Tera::default();
    tera.add_raw_template(
        "history-athena.yaml.tera",
        include_str!("../../templates/history-athena.yaml.tera"),
    )
    .map_err(AthenaError::Tera)?;
    tera.render("history-athena.yaml.tera", &context)
        .map_err(AthenaError::Tera)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_a_table_with_the_stored_columns_and_projected_partitions() {
        let body = render("s3://logs-archive/history/", "custos_history", "2026-01-01").unwrap();
        for name in ["items", "trail", "evaluations", "remediations"] {
            assert!(body.contains(&format!("Name: {name}\n")), "{name}");
            assert!(
                body.contains(&format!(
                    "Location: s3://logs-archive/history/kind={name}/\n"
                )),
                "{name}"
            );
        }
        assert!(body.contains("account=${account}/region=${region}/date=${date}"));
        assert!(body.contains("- Name: capture_time\n              Type: timestamp"));
        assert!(body.contains("- Name: resource_id\n              Type: string"));
        assert!(body.contains("projection.date.range: 2026-01-01,NOW"));
    }

    #[test]
    fn a_location_outside_s3_is_refused_by_name() {
        let error = render("/tmp/history", "custos_history", "2026-01-01").unwrap_err();
        assert!(error.to_string().contains("`/tmp/history`"), "{error}");
        assert!(render("s3://b/h", "Bad-Name", "2026-01-01").is_err());
    }
}
