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
    /// Names the expression binds itself (`$x := …`, lambda parameters).
    bound: BTreeSet<String>,
    /// The one JSONata built-in the expression calls or passes, if there is exactly one: the
    /// function a signature error (T0410, T0412) comes from.
    sole_builtin: Option<String>,
}

impl Expression {
    /// The text the expression was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn ast(&self) -> &AstNode {
        &self.ast
    }

    /// The workflow variables the expression reads: the `$names` it mentions, less `$states`
    /// and the names it binds itself. For `DescribeStateMachine`'s `variableReferences`.
    pub fn workflow_variables(&self) -> impl Iterator<Item = &str> {
        self.reads
            .iter()
            .filter(|n| *n != "states" && !self.bound.contains(*n))
            .map(String::as_str)
    }

    pub(crate) fn sole_builtin(&self) -> Option<&str> {
        self.sole_builtin.as_deref()
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
    let parse = || {
        // A parser panic must not take the caller (definition validation) down with it.
        std::panic::catch_unwind(|| jsonata_core::parser::parse(source))
            .map_err(|_| JsonataError::syntax("The JSONata expression could not be parsed"))?
            .map_err(|e| JsonataError::from_parser(&e.to_string()))
    };
    let mut ast = parse()?;
    let mut w = Walk {
        rewrite: true,
        ..Walk::default()
    };
    check(&mut ast, &mut w)?;
    if w.rewritten.iter().any(|name| w.bound.contains(name)) {
        // The expression defines its own function of that name: leave its calls alone.
        ast = parse()?;
        w = Walk::default();
        check(&mut ast, &mut w)?;
    }
    let builtins: Vec<&String> = w
        .builtins
        .iter()
        .filter(|b| !w.bound.contains(*b))
        .collect();
    let sole_builtin = match builtins[..] {
        [only] => Some(only.clone()),
        _ => None,
    };
    Ok(Expression {
        source: source.to_string(),
        ast,
        reads: w.reads,
        bound: w.bound,
        sole_builtin,
    })
}

/// What one walk over the tree found.
#[derive(Default)]
struct Walk {
    /// `$names` read.
    reads: BTreeSet<String>,
    /// Names the expression binds itself (`$f := …`, lambda parameters).
    bound: BTreeSet<String>,
    /// Whether to rewrite calls of replaced built-ins (see [`CONTEXT_BUILTINS`]).
    rewrite: bool,
    /// The built-ins whose calls were rewritten.
    rewritten: BTreeSet<String>,
    /// JSONata built-ins called or passed as values.
    builtins: BTreeSet<String>,
}

/// The built-in functions of JSONata 2.0.6 (without `$eval`, which AWS lacks).
const JSONATA_BUILTINS: &[&str] = &[
    "abs",
    "append",
    "assert",
    "average",
    "base64decode",
    "base64encode",
    "boolean",
    "ceil",
    "contains",
    "count",
    "decodeUrl",
    "decodeUrlComponent",
    "distinct",
    "each",
    "encodeUrl",
    "encodeUrlComponent",
    "error",
    "exists",
    "filter",
    "floor",
    "formatBase",
    "formatInteger",
    "formatNumber",
    "fromMillis",
    "join",
    "keys",
    "length",
    "lookup",
    "lowercase",
    "map",
    "match",
    "max",
    "merge",
    "millis",
    "min",
    "not",
    "now",
    "number",
    "pad",
    "parseInteger",
    "power",
    "random",
    "reduce",
    "replace",
    "reverse",
    "round",
    "shuffle",
    "sift",
    "single",
    "sort",
    "split",
    "spread",
    "sqrt",
    "string",
    "substring",
    "substringAfter",
    "substringBefore",
    "sum",
    "toMillis",
    "trim",
    "type",
    "uppercase",
    "zip",
];

/// `$pad` as jsonata-js runs it reads the context when its first argument is not a string
/// (`name.$pad(10)`); Cairn replaces `$pad` (its width must be bounded), so a call becomes
/// a call of this host function with the context in front.
pub(crate) const PAD_IN_CONTEXT: &str = "__cairn_pad_in_context";

/// Built-ins that Cairn replaces (see `uri` and `replaced_builtins`) whose jsonata-js signature
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
fn check(node: &mut AstNode, w: &mut Walk) -> Result<(), JsonataError> {
    jsonata_core::value::with_stack(|| check_node(node, w))
}

fn check_node(node: &mut AstNode, w: &mut Walk) -> Result<(), JsonataError> {
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
                w.reads.insert(name.clone());
            }
            if JSONATA_BUILTINS.contains(&name.as_str()) {
                w.builtins.insert(name.clone());
            }
            Ok(())
        }
        AstNode::Path { steps } => steps.iter_mut().try_for_each(|s| check_step(s, w)),
        AstNode::Binary { op, lhs, rhs } => {
            match op {
                BinaryOp::Coalesce => return Err(operator_rejected("??")),
                BinaryOp::Default => return Err(operator_rejected("?:")),
                BinaryOp::ColonEqual => {
                    if let AstNode::Variable(name) = &**lhs {
                        if name == "states" {
                            return Err(JsonataError::syntax(
                                "The variable $states is reserved and cannot be assigned",
                            ));
                        }
                        w.bound.insert(name.clone());
                    }
                }
                _ => {}
            }
            check(lhs, w)?;
            check(rhs, w)
        }
        AstNode::Unary { operand, .. } => check(operand, w),
        AstNode::Function { name, args, .. } => {
            if name == "eval" {
                return Err(eval_rejected());
            }
            if JSONATA_BUILTINS.contains(&name.as_str()) {
                w.builtins.insert(name.clone());
            }
            if w.rewrite && args.is_empty() && CONTEXT_BUILTINS.contains(&name.as_str()) {
                w.rewritten.insert(name.clone());
                args.push(AstNode::Variable(String::new()));
            }
            if w.rewrite && name == "pad" {
                w.rewritten.insert(name.clone());
                *name = PAD_IN_CONTEXT.to_string();
                args.insert(0, AstNode::Variable(String::new()));
            }
            // A called name is a function; workflow variables hold JSON, so a call never
            // reads one (and binding one would shadow a built-in such as `$map`).
            args.iter_mut().try_for_each(|a| check(a, w))
        }
        AstNode::Call { procedure, args } => {
            check(procedure, w)?;
            args.iter_mut().try_for_each(|a| check(a, w))
        }
        AstNode::Lambda { params, body, .. } => {
            w.bound.extend(params.iter().cloned());
            check(body, w)
        }
        AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
            items.iter_mut().try_for_each(|i| check(i, w))
        }
        AstNode::Object(pairs) => pairs.iter_mut().try_for_each(|(k, v)| {
            check(k, w)?;
            check(v, w)
        }),
        AstNode::ObjectTransform { input, pattern } => {
            check(input, w)?;
            pattern.iter_mut().try_for_each(|(k, v)| {
                check(k, w)?;
                check(v, w)
            })
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            check(condition, w)?;
            check(then_branch, w)?;
            else_branch.iter_mut().try_for_each(|e| check(e, w))
        }
        AstNode::FunctionApplication(body) => check(body, w),
        AstNode::Sort { input, terms } => {
            check(input, w)?;
            terms.iter_mut().try_for_each(|(t, _)| check(t, w))
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => {
            check(location, w)?;
            check(update, w)?;
            delete.iter_mut().try_for_each(|d| check(d, w))
        }
    }
}

fn check_step(step: &mut PathStep, w: &mut Walk) -> Result<(), JsonataError> {
    check(&mut step.node, w)?;
    step.stages.iter_mut().try_for_each(|stage| match stage {
        Stage::Filter(e) => check(e, w),
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
        let workflow: Vec<&str> = e.workflow_variables().collect();
        assert_eq!(workflow, ["k", "list", "total"]);
    }
}
