//! docs/json.md from the report types: every command's `--json` field tables are generated from
//! the `schemars::JsonSchema` of its report type (field, type, presence, and the meaning from
//! the field's `///` doc comment); the prose and examples around them stay hand-written.
//!
//! The template is docs/json.md itself: a block between
//! `<!-- fields of NAME: … -->` and `<!-- end of fields -->` is replaced by the tables of the
//! report registered for command NAME, and kept as it is when none is registered yet.
//! `git parallel generate json-doc -o docs/json.md` rewrites the file; tests/cli_docs.rs fails
//! when the committed file is stale.
//!
//! **Registering a report type is one line** in [`crate::commands::report_schemas`] (commands/mod.rs):
//! `schema::<module::ReportType>("command")`, then regenerate docs/json.md.
//!
//! Conventions of the tables: a field the serializer may leave out (`skip_serializing_if`) is
//! *optional* (absent, never `null`); an always present field that can be `null` has the type
//! "T or `null`". An untagged enum (e.g. retry's report) gives one table per variant.

use serde_json::{Map, Value};

/// The committed docs/json.md: its hand-written parts are the template.
const TEMPLATE: &str = include_str!("../../../docs/json.md");

const BEGIN: &str = "<!-- fields of ";
const END: &str = "<!-- end of fields -->";

/// The JSON Schema of report type `T` as serialized, for the command `name`.
pub fn schema<T: schemars::JsonSchema>(name: &'static str) -> (&'static str, schemars::Schema) {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    (name, generator.into_root_schema_for::<T>())
}

/// docs/json.md as generated from the registered report types.
pub fn render() -> String {
    render_with(TEMPLATE, &crate::commands::report_schemas())
}

/// `template` with the field block of every registered command replaced by its tables.
fn render_with(template: &str, schemas: &[(&'static str, schemars::Schema)]) -> String {
    let mut out = String::new();
    let mut lines = template.split_inclusive('\n');
    while let Some(line) = lines.next() {
        out.push_str(line);
        let Some(name) = block_name(line) else {
            continue;
        };
        let mut kept = String::new();
        let mut end = None;
        for l in lines.by_ref() {
            if l.trim_end() == END {
                end = Some(l);
                break;
            }
            kept.push_str(l);
        }
        match schemas.iter().find(|(n, _)| *n == name) {
            Some((_, s)) => out.push_str(&tables(s.as_value())),
            None => out.push_str(&kept),
        }
        out.push_str(end.unwrap_or("<!-- end of fields -->\n"));
    }
    out
}

/// The command named by a `<!-- fields of NAME: … -->` line.
fn block_name(line: &str) -> Option<&str> {
    let rest = line.trim_end().strip_prefix(BEGIN)?;
    let end = rest.find([':', ' '])?;
    Some(&rest[..end])
}

/// The tables of one report: its fields, then one table per object type it contains.
fn tables(root: &Value) -> String {
    let defs = root.get("$defs").and_then(Value::as_object);
    let mut out = String::from("\n");
    let variants = root
        .get("anyOf")
        .or_else(|| root.get("oneOf"))
        .and_then(Value::as_array);
    // Nested object types in order of first use: (definition, the fields that hold it).
    let mut nested: Vec<(Value, Vec<Holder>)> = Vec::new();
    match variants {
        Some(vs) => {
            for (k, v) in vs.iter().enumerate() {
                // The variant's doc comment, else its type's.
                let what = Some(description(v))
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| description(&resolve(v, defs)));
                let v = resolve(v, defs);
                out.push_str(&format!("{}. {what}\n\n", k + 1));
                out.push_str(&table(&v, "", defs, &mut nested));
                out.push('\n');
            }
        }
        None => {
            out.push_str(&table(root, "", defs, &mut nested));
            out.push('\n');
        }
    }
    let mut k = 0;
    while k < nested.len() {
        let (def, holders) = nested[k].clone();
        let names: Vec<String> = holders.iter().map(Holder::heading).collect();
        let names = names.join("; ");
        let mut head = names.chars();
        let capitalized: String = head
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(head)
            .collect();
        out.push_str(&format!("{capitalized}:\n\n"));
        let prefix = holders.first().map(|h| h.path.clone()).unwrap_or_default();
        out.push_str(&table(&def, &format!("{prefix}."), defs, &mut nested));
        out.push('\n');
        k += 1;
    }
    out
}

/// A field holding an object, or an array of objects.
#[derive(Clone)]
struct Holder {
    /// `radar.pairs`.
    path: String,
    array: bool,
}

impl Holder {
    fn heading(&self) -> String {
        if self.array {
            format!("each element of `{}`", self.path)
        } else {
            format!("`{}`", self.path)
        }
    }
}

/// `s` itself, or the definition it refers to (`$ref: #/$defs/NAME`).
fn resolve(s: &Value, defs: Option<&Map<String, Value>>) -> Value {
    let name = s
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"));
    match name.and_then(|n| defs?.get(n)) {
        Some(d) => d.clone(),
        None => s.clone(),
    }
}

/// The one-paragraph description of a schema, as a table cell.
fn description(s: &Value) -> String {
    s.get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The field table of an object schema; the object types of its fields are added to `nested`
/// (named `path` + field).
fn table(
    obj: &Value,
    path: &str,
    defs: Option<&Map<String, Value>>,
    nested: &mut Vec<(Value, Vec<Holder>)>,
) -> String {
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = String::from("| field | type | presence | meaning |\n|---|---|---|---|\n");
    let Some(props) = obj.get("properties").and_then(Value::as_object) else {
        return out;
    };
    for (name, field) in props {
        let always = required.contains(&name.as_str());
        let (ty, inner) = type_name(field, defs, !always);
        if let Some(def) = inner {
            let holder = Holder {
                path: format!("{path}{name}"),
                array: ty.starts_with("array"),
            };
            match nested.iter_mut().find(|(d, _)| *d == def) {
                Some((_, holders)) => {
                    // The same field of two variants is named once.
                    if !holders.iter().any(|h| h.path == holder.path) {
                        holders.push(holder);
                    }
                }
                None => nested.push((def, vec![holder])),
            }
        }
        out.push_str(&format!(
            "| `{name}` | {ty} | {} | {} |\n",
            if always { "always" } else { "*optional*" },
            description(field)
        ));
    }
    out
}

/// The type of a field in words, and the object type it holds (itself, as array elements or
/// as the non-null alternative). `optional`: absent rather than `null`, so `null` is not said.
fn type_name(
    s: &Value,
    defs: Option<&Map<String, Value>>,
    optional: bool,
) -> (String, Option<Value>) {
    if s.get("$ref").is_some() {
        let def = resolve(s, defs);
        return match enum_values(&def) {
            Some(values) => (values, None),
            None => ("object".into(), Some(def)),
        };
    }
    if let Some(alts) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        let mut inner = None;
        let mut names: Vec<String> = Vec::new();
        for a in alts {
            if a.get("type").and_then(Value::as_str) == Some("null") {
                if !optional {
                    names.push("`null`".into());
                }
                continue;
            }
            let (n, i) = type_name(a, defs, optional);
            inner = inner.or(i);
            names.push(n);
        }
        return (names.join(" or "), inner);
    }
    if let Some(values) = enum_values(s) {
        return (values, None);
    }
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut inner = None;
    let mut names: Vec<String> = Vec::new();
    for t in types {
        match t {
            "null" if optional => {}
            "null" => names.push("`null`".into()),
            "array" => {
                let (item, i) = match s.get("items") {
                    Some(items) => type_name(items, defs, false),
                    None => ("any".into(), None),
                };
                inner = i;
                names.push(match item.as_str() {
                    "any" => "array".to_string(),
                    _ => format!("array of {}", plural(&item)),
                });
            }
            t => names.push(t.to_string()),
        }
    }
    if names.is_empty() {
        names.push("any".into());
    }
    (names.join(" or "), inner)
}

/// `string: "a", "b"` for a schema of string constants, else None.
fn enum_values(s: &Value) -> Option<String> {
    let consts: Vec<String> = match (s.get("enum"), s.get("oneOf")) {
        (Some(Value::Array(vs)), _) => vs.iter().map(|v| v.to_string()).collect(),
        (None, Some(Value::Array(alts))) => alts
            .iter()
            .map(|a| {
                a.get("const")
                    .or_else(|| a.get("enum")?.get(0))
                    .map(Value::to_string)
            })
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let shown: Vec<String> = consts.iter().map(|c| format!("`{c}`")).collect();
    Some(format!("string: {}", shown.join(", ")))
}

/// `strings`, `objects`, `arrays of strings`: the plural of a type name.
fn plural(name: &str) -> String {
    match name.split_once(' ') {
        Some((head, rest)) => format!("{head}s {rest}"),
        None if name.starts_with('`') => name.to_string(),
        None => format!("{name}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str =
        "<!-- fields of fail: generated -->\n| old | table |\n<!-- end of fields -->\n";

    #[test]
    fn a_block_is_replaced_for_a_registered_report_and_kept_otherwise() {
        let template = format!("# doc\n{BLOCK}tail\n");
        let kept = render_with(&template, &[]);
        assert_eq!(kept, template);
        let schemas = [schema::<crate::commands::fail::Failed>("fail")];
        let made = render_with(&template, &schemas);
        assert!(!made.contains("| old | table |"), "{made}");
        assert!(
            made.contains("| `can_retry` | boolean | always |"),
            "{made}"
        );
        assert!(made.starts_with("# doc\n<!-- fields of fail: generated -->\n"));
        assert!(made.ends_with("<!-- end of fields -->\ntail\n"), "{made}");
        // Generating again from the generated text changes nothing.
        assert_eq!(render_with(&made, &schemas), made);
    }

    #[test]
    fn every_registered_report_has_a_block_in_the_doc() {
        for (name, _) in crate::commands::report_schemas() {
            let has = TEMPLATE.lines().any(|l| block_name(l) == Some(name));
            assert!(
                has,
                "docs/json.md has no `<!-- fields of {name}: … -->` block"
            );
        }
    }

    /// Every field of every registered report type says what it means (a `///` doc comment).
    #[test]
    fn every_field_has_a_meaning() {
        fn walk(name: &str, s: &Value, missing: &mut Vec<String>) {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (field, f) in props {
                    if description(f).is_empty() {
                        missing.push(format!("{name}: {field}"));
                    }
                }
            }
            for key in ["$defs", "definitions"] {
                if let Some(defs) = s.get(key).and_then(Value::as_object) {
                    for (def, d) in defs {
                        walk(&format!("{name}/{def}"), d, missing);
                    }
                }
            }
        }
        let mut missing = Vec::new();
        for (name, s) in crate::commands::report_schemas() {
            walk(name, s.as_value(), &mut missing);
        }
        assert!(
            missing.is_empty(),
            "fields without a doc comment: {missing:?}"
        );
    }
}
