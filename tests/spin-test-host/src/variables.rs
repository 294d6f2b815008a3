//! Application variables (`[variables]`), component variable templates and
//! `spin:variables/variables@3.0.0`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use wasmtime::component::{Accessor, HasData, Linker};

use crate::bindings::imports::spin::variables::variables::{self, Error, HostWithStore};
use crate::manifest::VariableDecl;

/// Resolved application variables: explicit overrides, then `SPIN_VARIABLE_<NAME>`, then the
/// manifest default, as Spin's providers order them.
#[derive(Debug, Clone, Default)]
pub struct AppVariables {
    values: HashMap<String, String>,
}

impl AppVariables {
    /// Resolves every declared variable; a required one without a value fails with its name.
    pub fn resolve(
        declared: &BTreeMap<String, VariableDecl>,
        overrides: &BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        for name in overrides.keys() {
            if !declared.contains_key(name) {
                bail!("variable `{name}` is set but not declared in the manifest's [variables]");
            }
        }
        let mut values = HashMap::new();
        let mut missing = Vec::new();
        for (name, decl) in declared {
            check_name(name)?;
            let env_name = format!("SPIN_VARIABLE_{}", name.to_uppercase());
            let value = overrides
                .get(name)
                .cloned()
                .or_else(|| env(&env_name))
                .or_else(|| decl.default.clone());
            match value {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None if decl.required => missing.push(format!("`{name}` (set {env_name})")),
                None => {}
            }
        }
        if !missing.is_empty() {
            bail!(
                "missing required application variable(s): {}",
                missing.join(", ")
            );
        }
        Ok(Self { values })
    }

    /// Expands `{{ name }}` references in `template`.
    pub fn render(&self, template: &str) -> Result<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .with_context(|| format!("unclosed `{{{{` in template `{template}`"))?;
            let name = after[..end].trim();
            let value = self.values.get(name).with_context(|| {
                format!("template `{template}` refers to variable `{name}`, which has no value")
            })?;
            out.push_str(value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Spin's rule for variable names: lowercase ASCII letters, digits and `_`, starting with a letter.
fn check_name(name: &str) -> Result<()> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!("invalid variable name `{name}`: use lowercase letters, digits and `_`");
    }
    Ok(())
}

/// A component's variables, rendered once at start-up.
#[derive(Debug, Clone, Default)]
pub struct ComponentVariables {
    values: Arc<HashMap<String, String>>,
}

impl ComponentVariables {
    pub fn render(app: &AppVariables, templates: &BTreeMap<String, String>) -> Result<Self> {
        let mut values = HashMap::new();
        for (name, template) in templates {
            check_name(name)?;
            values.insert(name.clone(), app.render(template)?);
        }
        Ok(Self {
            values: Arc::new(values),
        })
    }

    fn get(&self, name: &str) -> Result<String, Error> {
        if check_name(name).is_err() {
            return Err(Error::InvalidName(name.to_string()));
        }
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| Error::Undefined(format!("no variable for {name:?}")))
    }
}

/// Marker tying the generated host traits to [`ComponentVariables`].
pub struct Variables;

impl HasData for Variables {
    type Data<'a> = &'a ComponentVariables;
}

/// Implemented by the per-store state type so the linker can reach the component's variables.
pub trait VariablesView: Send {
    fn variables(&self) -> &ComponentVariables;
}

pub fn add_to_linker<T: VariablesView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    variables::add_to_linker::<T, Variables>(linker, |state| state.variables())
}

impl variables::Host for &ComponentVariables {}

impl<T> HostWithStore<T> for Variables {
    async fn get(
        accessor: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<String, Error>> {
        Ok(accessor.with(|mut access| access.get().get(&name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> BTreeMap<String, VariableDecl> {
        let mut declared = BTreeMap::new();
        declared.insert(
            "greeting".to_string(),
            VariableDecl {
                default: Some("hello".into()),
                ..Default::default()
            },
        );
        declared.insert(
            "token".to_string(),
            VariableDecl {
                required: true,
                secret: true,
                ..Default::default()
            },
        );
        declared
    }

    #[test]
    fn override_beats_environment_beats_default() {
        let env = |name: &str| (name == "SPIN_VARIABLE_GREETING").then(|| "from env".to_string());
        let mut overrides = BTreeMap::new();
        overrides.insert("token".to_string(), "t".to_string());
        let vars = AppVariables::resolve(&declared(), &overrides, env).expect("resolves");
        assert_eq!(
            vars.render("{{ greeting }}, {{token}}!").expect("renders"),
            "from env, t!"
        );
        overrides.insert("greeting".to_string(), "explicit".to_string());
        let vars = AppVariables::resolve(&declared(), &overrides, env).expect("resolves");
        assert_eq!(vars.render("{{ greeting }}").expect("renders"), "explicit");
    }

    #[test]
    fn missing_required_variable_is_named() {
        let err = AppVariables::resolve(&declared(), &BTreeMap::new(), |_| None)
            .expect_err("token is required");
        assert!(err.to_string().contains("`token`"), "{err}");
        assert!(err.to_string().contains("SPIN_VARIABLE_TOKEN"), "{err}");
    }
}
