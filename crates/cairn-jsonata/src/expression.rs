//! Compiling an expression: parse with jsonata-core, then refuse what AWS refuses.
//!
//! Owns the static checks (`$eval`, the JSONata 2.1 operators `??` and `?:`, assigning
//! `$states`) and the list of variables an expression reads, so evaluation converts only
//! those from JSON. It must not evaluate anything.

use std::collections::BTreeSet;

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage};

use crate::error::JsonataError;

/// A compiled JSONata expression. Cheap to share (`Send + Sync`), so the interpreter can
/// compile each `{% %}` of a definition once and cache it.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    ast: AstNode,
    /// Names of the `$variables` the expression mentions (without `$`), `states` included.
    reads: BTreeSet<String>,
}

impl Expression {
    /// The text the expression was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn ast(&self) -> &AstNode {
        &self.ast
    }

    /// The `$names` the expression mentions, without `$`; workflow variables are among them.
    /// Names bound inside the expression (`$x := …`, lambda parameters) may appear too.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.reads.iter().map(String::as_str)
    }
}

/// Compile `source` (the text between `{%` and `%}`), rejecting what AWS rejects.
pub fn compile(source: &str) -> Result<Expression, JsonataError> {
    if source.trim().is_empty() {
        return Err(JsonataError::syntax("The JSONata expression is empty"));
    }
    let mut ast = jsonata_core::parser::parse(source)
        .map_err(|e| JsonataError::from_parser(&e.to_string()))?;
    let mut reads = BTreeSet::new();
    check(&mut ast, &mut reads)?;
    Ok(Expression {
        source: source.to_string(),
        ast,
        reads,
    })
}

/// Built-ins that Cairn replaces (see `uri` and `aws_functions`) whose jsonata-js signature
/// reads the context when called without arguments (`url.$encodeUrl()`). A replacement does
/// not see the context, so such a call is rewritten to pass it: `url.$encodeUrl($)`.
const CONTEXT_BUILTINS: [&str; 5] = [
    "encodeUrl",
    "encodeUrlComponent",
    "decodeUrl",
    "decodeUrlComponent",
    "toMillis",
];

/// Walk the tree: reject `$eval`, `??`, `?:`, `$states := …` and regexes the engine cannot
/// run; collect variable names; pass the context to the replaced built-ins that read it.
fn check(node: &mut AstNode, reads: &mut BTreeSet<String>) -> Result<(), JsonataError> {
    jsonata_core::value::with_stack(|| check_node(node, reads))
}

fn check_node(node: &mut AstNode, reads: &mut BTreeSet<String>) -> Result<(), JsonataError> {
    match node {
        AstNode::String(_)
        | AstNode::Name(_)
        | AstNode::Number(_)
        | AstNode::Boolean(_)
        | AstNode::Null
        | AstNode::Undefined
        | AstNode::Placeholder
        | AstNode::ParentVariable(_)
        | AstNode::Wildcard
        | AstNode::Descendant
        | AstNode::Parent(_) => Ok(()),
        AstNode::Regex { pattern, flags } => {
            // jsonata-js compiles a regex while parsing; jsonata-core waits until it runs.
            jsonata_core::functions::string::build_regex(pattern, flags)
                .map(|_| ())
                .map_err(|e| {
                    JsonataError::syntax(format!(
                        "Invalid regular expression /{pattern}/{flags}: {}",
                        e.to_string().lines().last().unwrap_or_default().trim()
                    ))
                })
        }
        AstNode::Variable(name) => {
            if name == "eval" {
                return Err(eval_rejected());
            }
            if !name.is_empty() {
                reads.insert(name.clone());
            }
            Ok(())
        }
        AstNode::Path { steps } => steps.iter_mut().try_for_each(|s| check_step(s, reads)),
        AstNode::Binary { op, lhs, rhs } => {
            match op {
                BinaryOp::Coalesce => return Err(operator_rejected("??")),
                BinaryOp::Default => return Err(operator_rejected("?:")),
                BinaryOp::ColonEqual => {
                    if matches!(&**lhs, AstNode::Variable(n) if n == "states") {
                        return Err(JsonataError::syntax(
                            "The variable $states is reserved and cannot be assigned",
                        ));
                    }
                }
                _ => {}
            }
            check(lhs, reads)?;
            check(rhs, reads)
        }
        AstNode::Unary { operand, .. } => check(operand, reads),
        AstNode::Function { name, args, .. } => {
            if name == "eval" {
                return Err(eval_rejected());
            }
            if args.is_empty() && CONTEXT_BUILTINS.contains(&name.as_str()) {
                args.push(AstNode::Variable(String::new()));
            }
            // A called name is a function; workflow variables hold JSON, so a call never
            // reads one (and binding one would shadow a built-in such as `$map`).
            args.iter_mut().try_for_each(|a| check(a, reads))
        }
        AstNode::Call { procedure, args } => {
            check(procedure, reads)?;
            args.iter_mut().try_for_each(|a| check(a, reads))
        }
        AstNode::Lambda { body, .. } => check(body, reads),
        AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
            items.iter_mut().try_for_each(|i| check(i, reads))
        }
        AstNode::Object(pairs) => pairs.iter_mut().try_for_each(|(k, v)| {
            check(k, reads)?;
            check(v, reads)
        }),
        AstNode::ObjectTransform { input, pattern } => {
            check(input, reads)?;
            pattern.iter_mut().try_for_each(|(k, v)| {
                check(k, reads)?;
                check(v, reads)
            })
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            check(condition, reads)?;
            check(then_branch, reads)?;
            else_branch.iter_mut().try_for_each(|e| check(e, reads))
        }
        AstNode::FunctionApplication(body) => check(body, reads),
        AstNode::Sort { input, terms } => {
            check(input, reads)?;
            terms.iter_mut().try_for_each(|(t, _)| check(t, reads))
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => {
            check(location, reads)?;
            check(update, reads)?;
            delete.iter_mut().try_for_each(|d| check(d, reads))
        }
    }
}

fn check_step(step: &mut PathStep, reads: &mut BTreeSet<String>) -> Result<(), JsonataError> {
    check(&mut step.node, reads)?;
    step.stages.iter_mut().try_for_each(|stage| match stage {
        Stage::Filter(e) => check(e, reads),
        Stage::KeepArray | Stage::Index(_) => Ok(()),
    })
}

fn eval_rejected() -> JsonataError {
    JsonataError::syntax("The function $eval is not supported")
}

fn operator_rejected(op: &str) -> JsonataError {
    JsonataError::syntax(format!(
        "The operator '{op}' is not supported (Step Functions runs JSONata 2.0.6)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn expression_is_send_and_sync() {
        assert_send_sync::<Expression>();
    }

    #[test]
    fn collects_the_variables_it_reads() {
        let e = compile("$states.input.x + $total + $map($list, function($v){$v * $k})").unwrap();
        let names: Vec<&str> = e.variables().collect();
        for n in ["states", "total", "list", "k", "v"] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        assert!(!names.contains(&"map"), "{names:?}");
    }
}
