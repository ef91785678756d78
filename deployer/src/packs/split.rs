//! Splitting a pack that exceeds Config's limits into parts that do not. Pure and generic: the
//! caller says how large a candidate part renders.

/// Why a pack cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "rule {index} alone renders to {bytes} bytes, over the {max_bytes}-byte limit of one template"
)]
pub struct TooLarge {
    pub index: usize,
    pub bytes: usize,
    pub max_bytes: usize,
}

/// Splits `rules` in order into the fewest consecutive parts (greedily) of at most `max_rules`
/// rules each, whose rendering (`size`) is at most `max_bytes`. A pack within the limits is one
/// part; an empty pack is no part.
pub fn split<T: Clone>(
    rules: &[T],
    max_rules: usize,
    max_bytes: usize,
    size: impl Fn(&[T]) -> usize,
) -> Result<Vec<Vec<T>>, TooLarge> {
    let mut parts: Vec<Vec<T>> = Vec::new();
    let mut current: Vec<T> = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let mut candidate = current.clone();
        candidate.push(rule.clone());
        if candidate.len() <= max_rules && size(&candidate) <= max_bytes {
            current = candidate;
            continue;
        }
        let alone = std::slice::from_ref(rule);
        let bytes = size(alone);
        if bytes > max_bytes {
            return Err(TooLarge {
                index,
                bytes,
                max_bytes,
            });
        }
        if !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        current.push(rule.clone());
    }
    if !current.is_empty() {
        parts.push(current);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(rules: &[usize]) -> usize {
        100 + rules.iter().sum::<usize>()
    }

    #[test]
    fn a_pack_within_the_limits_is_one_part() {
        let rules: Vec<usize> = vec![10; 130];
        assert_eq!(split(&rules, 130, 51_200, bytes).unwrap(), vec![rules]);
        assert!(split::<usize>(&[], 130, 51_200, bytes).unwrap().is_empty());
    }

    #[test]
    fn too_many_rules_are_split_by_count_in_order() {
        let rules: Vec<usize> = vec![1; 300];
        let parts = split(&rules, 130, 51_200, bytes).unwrap();
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        assert_eq!(sizes, [130, 130, 40]);
    }

    #[test]
    fn large_rules_are_split_by_size_and_no_part_is_over() {
        let rules: Vec<usize> = (0..50).map(|i| 1_000 + i * 37).collect();
        let parts = split(&rules, 130, 10_000, bytes).unwrap();
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| bytes(p) <= 10_000));
        assert_eq!(parts.concat(), rules, "every rule once, in order");
        // Greedy: adding the next part's first rule would have gone over.
        for pair in parts.windows(2) {
            let mut grown = pair[0].clone();
            grown.push(pair[1][0]);
            assert!(bytes(&grown) > 10_000);
        }
    }

    #[test]
    fn a_rule_too_large_alone_is_refused() {
        let error = split(&[10, 20_000, 10], 130, 10_000, bytes).unwrap_err();
        assert_eq!(
            error,
            TooLarge {
                index: 1,
                bytes: 20_100,
                max_bytes: 10_000
            }
        );
    }
}
