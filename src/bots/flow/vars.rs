//! The variables a flow reads: the built-in ones the engine fills in, and those `set` defines.
//! Checked at start-up (a misspelt name is an error, not a silent `null`) and looked up per call.

use std::collections::{HashMap, HashSet};

use super::expr::{Lookup, Value};
use super::model::{Template, TemplatePart};

/// The built-in variables, with the fields each has (`*` = any field).
pub const BUILTIN: [(&str, &[&str]); 7] = [
    ("digits", &[]),
    ("caller", &["id", "name", "kind"]),
    ("analysis", &["*"]),
    ("office", &["open"]),
    ("time", &[]),
    ("weekday", &[]),
    ("date", &[]),
];

/// Whether `path` names a built-in variable or one that `set` defines.
pub fn check_path(path: &[String], set_names: &HashSet<String>) -> Result<(), String> {
    let (root, fields) = path.split_first().ok_or("an empty variable name")?;
    if let Some((_, allowed)) = BUILTIN.iter().find(|(name, _)| name == root) {
        return match fields.first() {
            None => Ok(()),
            Some(_) if allowed.contains(&"*") => Ok(()),
            Some(field) if fields.len() == 1 && allowed.contains(&field.as_str()) => Ok(()),
            Some(_) if allowed.is_empty() => Err(format!("'{root}' has no fields; write {root}")),
            Some(_) => Err(format!(
                "'{}' is not a variable; {root} has the fields {}",
                path.join("."),
                allowed.join(", ")
            )),
        };
    }
    if set_names.contains(root) {
        return match fields.first() {
            None => Ok(()),
            Some(_) => Err(format!(
                "'{}': variables set by a flow have no fields; write {root}",
                path.join(".")
            )),
        };
    }
    let builtins: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "unknown variable '{root}'; built-in: {}; or define it with set = {{ {root} = \"…\" }}",
        builtins.join(", ")
    ))
}

/// The template a `set` value makes, with the variable paths it reads.
pub fn template_of(key: &str, value: &toml::Value) -> Result<(Template, Vec<Vec<String>>), String> {
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "variable name '{key}' may hold only letters, digits and '_'"
        ));
    }
    if BUILTIN.iter().any(|(name, _)| *name == key) {
        return Err(format!("'{key}' is a built-in variable and cannot be set"));
    }
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => {
            return Err(format!(
                "set.{key} is a {}; allowed: a string (with {{variable}} placeholders), number or boolean",
                other.type_str()
            ));
        }
    };
    parse_template(&text)
}

/// Splits `text` into literal parts and `{variable.path}` placeholders (`{{` and `}}` are braces).
pub fn parse_template(text: &str) -> Result<(Template, Vec<Vec<String>>), String> {
    let mut parts = Vec::new();
    let mut paths = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => name.push(ch),
                        None => return Err(format!("'{text}' has a '{{' without its '}}'")),
                    }
                }
                let path: Vec<String> = name.trim().split('.').map(str::to_owned).collect();
                if path.iter().any(|p| p.is_empty()) {
                    return Err(format!("'{{{name}}}' in '{text}' is not a variable name"));
                }
                if !literal.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                }
                paths.push(path.clone());
                parts.push(TemplatePart::Var(path));
            }
            '}' => {
                return Err(format!(
                    "'{text}' has a '}}' without its '{{'; write '}}}}' for a brace"
                ));
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal));
    }
    Ok((Template { parts }, paths))
}

/// One call's variables.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    /// Flat values: `digits`, `caller.id`, `office.open`, `time`, set variables…
    values: HashMap<String, Value>,
    /// The last analysis result.
    analysis: serde_json::Value,
}

impl Variables {
    /// Sets a flat variable (`"caller.id"`, `"digits"`, a `set` name).
    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    /// Replaces the analysis result.
    pub fn set_analysis(&mut self, result: serde_json::Value) {
        self.analysis = result;
    }

    /// The text of a template with this call's values.
    pub fn render(&self, template: &Template) -> String {
        template
            .parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(t) => t.clone(),
                TemplatePart::Var(path) => self.lookup(path).to_string(),
            })
            .collect()
    }
}

impl Lookup for Variables {
    fn lookup(&self, path: &[String]) -> Value {
        if path.first().is_some_and(|root| root == "analysis") {
            let mut at = &self.analysis;
            for field in &path[1..] {
                match at.get(field) {
                    Some(inner) => at = inner,
                    None => return Value::Null,
                }
            }
            return Value::from_json(at);
        }
        self.values
            .get(&path.join("."))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn paths_are_checked_against_builtins_and_set_names() {
        let set = HashSet::from(["department".to_owned()]);
        assert!(check_path(&path("analysis.sentiment.label"), &set).is_ok());
        assert!(check_path(&path("caller.id"), &set).is_ok());
        assert!(check_path(&path("department"), &set).is_ok());
        let error = check_path(&path("caller.phone"), &set).unwrap_err();
        assert!(error.contains("fields id, name, kind"), "{error}");
        let error = check_path(&path("departmnet"), &set).unwrap_err();
        assert!(error.contains("unknown variable 'departmnet'"), "{error}");
        assert!(check_path(&path("digits.first"), &set).is_err());
    }

    #[test]
    fn templates_render_values_and_keep_escaped_braces() {
        let (template, paths) = parse_template("pressed {digits} {{literally}}").unwrap();
        assert_eq!(paths, vec![path("digits")]);
        let mut vars = Variables::default();
        vars.set("digits", Value::Str("42".into()));
        assert_eq!(vars.render(&template), "pressed 42 {literally}");
        assert!(parse_template("{unclosed").is_err());
        assert!(parse_template("stray }").is_err());
        assert!(template_of("digits", &toml::Value::String("x".into())).is_err());
        assert!(template_of("list", &toml::Value::Array(vec![])).is_err());
    }

    #[test]
    fn analysis_fields_are_read_from_the_json_result() {
        let mut vars = Variables::default();
        vars.set_analysis(serde_json::json!({"intent": "billing", "scores": {"negative": 0.9}}));
        assert_eq!(
            vars.lookup(&path("analysis.intent")),
            Value::Str("billing".into())
        );
        assert_eq!(
            vars.lookup(&path("analysis.scores.negative")),
            Value::Number(0.9)
        );
        assert_eq!(vars.lookup(&path("analysis.nothing")), Value::Null);
    }
}
