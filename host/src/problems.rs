//! Every problem found while checking something whole (a configuration, a reload, a change made
//! through the admin API), carried as a list to the boundary that shows it: the startup error
//! prints one per line, the admin API answers them as a JSON array, the reload log lists them.
//! Each problem is one sentence that names where it is (file and line, destination,
//! subscription, field) and what is wrong; none holds a line break for a caller to split on.

use std::fmt;

/// One or more problems, in the order found. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Problems(Vec<String>);

impl Problems {
    /// A list of the problems found; `None` when there are none.
    pub fn from_list(list: Vec<String>) -> Option<Problems> {
        (!list.is_empty()).then_some(Problems(list))
    }

    /// The problems, in the order found.
    pub fn list(&self) -> &[String] {
        &self.0
    }

    /// Adds the problems of `other` after these.
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }
}

/// One problem.
impl From<String> for Problems {
    fn from(problem: String) -> Problems {
        Problems(vec![problem])
    }
}

impl From<&str> for Problems {
    fn from(problem: &str) -> Problems {
        Problems(vec![problem.to_string()])
    }
}

/// One problem per line.
impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_is_no_problem() {
        assert_eq!(Problems::from_list(Vec::new()), None);
    }

    #[test]
    fn problems_print_one_per_line_and_serialise_as_a_list() {
        let mut p = Problems::from("a.toml line 3: unknown plugin");
        p.extend(Problems::from("a.toml line 9: trigger is not valid"));
        assert_eq!(
            p.to_string(),
            "a.toml line 3: unknown plugin\na.toml line 9: trigger is not valid"
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!([
                "a.toml line 3: unknown plugin",
                "a.toml line 9: trigger is not valid"
            ])
        );
    }
}
