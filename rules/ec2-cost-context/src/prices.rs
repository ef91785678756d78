//! Hourly on-demand prices: the shipped table (`prices.toml`) and the `priceOverrides` parameter.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::Deserialize;

/// The shipped price table, as data.
pub const PRICES_TOML: &str = include_str!("../prices.toml");

/// `prices.toml`, as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PriceFile {
    region: String,
    operating_system: String,
    tenancy: String,
    as_of: String,
    source: String,
    /// Family -> size -> USD per hour.
    usd_per_hour: BTreeMap<String, BTreeMap<String, f64>>,
}

/// USD per instance-hour by instance type, with where the prices come from.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    /// The region the prices are for (`us-east-1`).
    pub region: String,
    pub operating_system: String,
    pub tenancy: String,
    /// When the prices were listed (`YYYY-MM`).
    pub as_of: String,
    pub source: String,
    prices: BTreeMap<String, f64>,
}

/// Why a price table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError(String);

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prices.toml: {}", self.0)
    }
}

impl PriceTable {
    /// Reads a table in the layout of `prices.toml`; every price must be a positive number.
    pub fn from_toml(text: &str) -> Result<Self, TableError> {
        let file: PriceFile = toml::from_str(text).map_err(|e| TableError(e.to_string()))?;
        let mut prices = BTreeMap::new();
        for (family, sizes) in file.usd_per_hour {
            for (size, price) in sizes {
                let instance_type = format!("{family}.{size}");
                if !(price.is_finite() && price > 0.0) {
                    return Err(TableError(format!(
                        "{instance_type}: {price} is not a positive price"
                    )));
                }
                prices.insert(instance_type, price);
            }
        }
        Ok(Self {
            region: file.region,
            operating_system: file.operating_system,
            tenancy: file.tenancy,
            as_of: file.as_of,
            source: file.source,
            prices,
        })
    }

    /// The shipped table, read on first use (never during Lambda init). A broken table cannot
    /// ship: the crate's tests read it.
    pub fn builtin() -> &'static Self {
        static TABLE: LazyLock<PriceTable> =
            LazyLock::new(|| PriceTable::from_toml(PRICES_TOML).unwrap_or_else(|e| panic!("{e}")));
        &TABLE
    }

    /// The table's price of `instance_type`.
    pub fn get(&self, instance_type: &str) -> Option<f64> {
        self.prices.get(instance_type).copied()
    }

    /// Every instance type in the table, with its price.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.prices.iter().map(|(t, p)| (t.as_str(), *p))
    }
}

/// Where a price came from; shown in the annotation so a reader can judge the estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    /// The shipped table (us-east-1 Linux list price).
    Table,
    /// The `priceOverrides` parameter.
    Override,
}

/// A price and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub usd_per_hour: f64,
    pub source: PriceSource,
}

/// The price of `instance_type`: an override first, then the table, else none (never a guess).
pub fn lookup(
    table: &PriceTable,
    overrides: &BTreeMap<String, f64>,
    instance_type: &str,
) -> Option<Price> {
    if let Some(&usd_per_hour) = overrides.get(instance_type) {
        return Some(Price {
            usd_per_hour,
            source: PriceSource::Override,
        });
    }
    table.get(instance_type).map(|usd_per_hour| Price {
        usd_per_hour,
        source: PriceSource::Table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many "large" units a size is: what the price of a size is proportional to.
    fn units(size: &str) -> Option<f64> {
        Some(match size {
            "nano" => 1.0 / 16.0,
            "micro" => 1.0 / 8.0,
            "small" => 1.0 / 4.0,
            "medium" => 1.0 / 2.0,
            "large" => 1.0,
            "xlarge" => 2.0,
            "metal" => return None,
            other => 2.0 * other.strip_suffix("xlarge")?.parse::<f64>().ok()?,
        })
    }

    #[test]
    fn the_shipped_table_reads_and_names_its_source() {
        let table = PriceTable::builtin();
        assert_eq!(table.region, "us-east-1");
        assert_eq!(table.operating_system, "Linux/UNIX");
        assert!(table.source.starts_with("https://aws.amazon.com/"));
        assert_eq!(table.get("m5.large"), Some(0.096));
        assert_eq!(table.get("t4g.nano"), Some(0.0042));
        assert_eq!(table.get("p5.48xlarge"), None);
    }

    #[test]
    fn the_shipped_table_covers_the_common_families() {
        let table = PriceTable::builtin();
        for family in [
            "t3", "t4g", "m5", "m6i", "m7g", "c5", "c6i", "c7g", "r5", "r6i",
        ] {
            assert!(
                table.get(&format!("{family}.large")).is_some()
                    && table.get(&format!("{family}.xlarge")).is_some(),
                "{family}"
            );
        }
    }

    /// Within a family, price is proportional to size: a typo in a price breaks the proportion.
    #[test]
    fn every_price_is_proportional_to_its_size_within_the_family() {
        let table = PriceTable::builtin();
        for (instance_type, price) in table.iter() {
            let (family, size) = instance_type.split_once('.').unwrap();
            let Some(units) = units(size) else {
                // Bare metal is priced as the family's largest size.
                let largest = table
                    .iter()
                    .filter(|(t, _)| t.starts_with(&format!("{family}.")) && !t.ends_with("metal"))
                    .map(|(_, p)| p)
                    .fold(0.0, f64::max);
                assert!((price - largest).abs() < 1e-9, "{instance_type}");
                continue;
            };
            let large = table.get(&format!("{family}.large")).unwrap();
            let expected = large * units;
            assert!(
                (price - expected).abs() / expected < 0.01,
                "{instance_type}: {price}, expected about {expected}"
            );
        }
    }

    #[test]
    fn a_broken_table_is_an_error_naming_the_type() {
        let text = r#"
region = "r"
operating-system = "o"
tenancy = "t"
as-of = "2026-01"
source = "s"
[usd-per-hour.m5]
large = -1.0
"#;
        let err = PriceTable::from_toml(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prices.toml: m5.large: -1 is not a positive price"
        );
    }

    #[test]
    fn an_override_wins_over_the_table_and_unknown_types_have_no_price() {
        let table = PriceTable::builtin();
        let overrides = BTreeMap::from([("m5.large".to_owned(), 0.107)]);
        assert_eq!(
            lookup(table, &overrides, "m5.large"),
            Some(Price {
                usd_per_hour: 0.107,
                source: PriceSource::Override
            })
        );
        assert_eq!(
            lookup(table, &overrides, "c5.large").map(|p| p.source),
            Some(PriceSource::Table)
        );
        assert_eq!(lookup(table, &overrides, "u-12tb1.112xlarge"), None);
    }
}
