//! ABI helpers for tools: calls from a signature or a JSON ABI with arguments given as text,
//! and return values, custom errors and events decoded back to text. Encoding and decoding
//! are `alloy`'s (`alloy-dyn-abi`, `alloy-json-abi`).

use alloy_dyn_abi::{
    DynSolType, DynSolValue, ErrorExt as _, EventExt as _, FunctionExt as _, JsonAbiExt as _,
    Specifier as _,
};
use alloy_json_abi::Param;
pub use alloy_json_abi::{Function, JsonAbi};
use revm::primitives::{B256, Log};

/// Why a call could not be encoded, or data not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AbiError {
    /// A function signature that does not parse.
    #[error("function signature {signature:?}: {reason}")]
    Signature {
        /// The signature given.
        signature: String,
        /// What is wrong.
        reason: String,
    },
    /// A function the ABI does not have, or has several of with that name.
    #[error("{0}")]
    NoFunction(String),
    /// The wrong number of arguments.
    #[error("{what} takes {expected} argument(s) ({types}), {given} given")]
    ArgumentCount {
        /// The function or constructor.
        what: String,
        /// How many it takes.
        expected: usize,
        /// Their types.
        types: String,
        /// How many were given.
        given: usize,
    },
    /// An argument that is not a value of its type.
    #[error("argument {position} ({name}: {ty}): {value:?} is not a valid {ty}: {reason}")]
    Argument {
        /// 1-based.
        position: usize,
        /// The parameter's name (or `_`).
        name: String,
        /// Its Solidity type.
        ty: String,
        /// The text given.
        value: String,
        /// What the parser said.
        reason: String,
    },
    /// Data that does not decode as the expected types.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// Why not.
        reason: String,
    },
}

impl AbiError {
    /// A stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            AbiError::Signature { .. } => "abi_signature",
            AbiError::NoFunction(_) => "abi_no_function",
            AbiError::ArgumentCount { .. } => "abi_argument_count",
            AbiError::Argument { .. } => "abi_argument",
            AbiError::Decode { .. } => "abi_decode",
        }
    }
}

/// Parses a function signature: `transfer(address,uint256)`, with return types as
/// `balanceOf(address) returns (uint256)` or `balanceOf(address)(uint256)`; a leading
/// `function` and parameter names are allowed.
pub fn parse_signature(signature: &str) -> Result<Function, AbiError> {
    let text = signature.trim();
    let text = text.strip_prefix("function ").unwrap_or(text).trim();
    // `name(args)(returns)`: the short form `cast` uses.
    let normalized = match short_returns(text) {
        Some((call, returns)) => format!("function {call} returns {returns}"),
        None => format!("function {text}"),
    };
    Function::parse(&normalized).map_err(|e| AbiError::Signature {
        signature: signature.to_string(),
        reason: e.to_string(),
    })
}

/// Splits `name(args)(returns)` after the balanced argument list, if a second list follows.
fn short_returns(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let end = open + i + 1;
                    let rest = text[end..].trim_start();
                    return rest.starts_with('(').then_some((&text[..end], rest));
                }
            }
            _ => {}
        }
    }
    None
}

/// The function `name` of `abi`: the only one with that name, or the one whose signature
/// (`name(type,...)`) is `name`.
pub fn find_function<'a>(abi: &'a JsonAbi, name: &str) -> Result<&'a Function, AbiError> {
    if name.contains('(') {
        return abi
            .functions()
            .find(|f| f.signature() == name.replace(' ', ""))
            .ok_or_else(|| AbiError::NoFunction(format!("the ABI has no function {name}")));
    }
    match abi.function(name).map(Vec::as_slice) {
        None | Some([]) => Err(AbiError::NoFunction(format!(
            "the ABI has no function {name:?} (it has: {})",
            abi.functions()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        Some([f]) => Ok(f),
        Some(several) => Err(AbiError::NoFunction(format!(
            "{name} is overloaded: name one of {}",
            several
                .iter()
                .map(|f| f.signature())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Parses `args` as values of `params` (text as `cast` takes it: decimal or `0x` numbers,
/// `0x` addresses and bytes, `true`/`false`, `[a, b]` arrays, `(a, b)` tuples).
pub fn parse_args(
    what: &str,
    params: &[Param],
    args: &[String],
) -> Result<Vec<DynSolValue>, AbiError> {
    if params.len() != args.len() {
        return Err(AbiError::ArgumentCount {
            what: what.to_string(),
            expected: params.len(),
            types: params
                .iter()
                .map(|p| p.ty.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            given: args.len(),
        });
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (p, arg))| {
            let fail = |reason: String| AbiError::Argument {
                position: i + 1,
                name: if p.name.is_empty() {
                    "_".into()
                } else {
                    p.name.clone()
                },
                ty: p.selector_type().into_owned(),
                value: arg.clone(),
                reason,
            };
            let ty = p.resolve().map_err(|e| fail(e.to_string()))?;
            ty.coerce_str(arg).map_err(|e| fail(e.to_string()))
        })
        .collect()
}

/// The calldata of `function` with `args` (as text).
pub fn encode_call(function: &Function, args: &[String]) -> Result<Vec<u8>, AbiError> {
    let values = parse_args(&function.signature(), &function.inputs, args)?;
    function
        .abi_encode_input(&values)
        .map_err(|e| AbiError::Decode {
            what: format!("arguments of {}", function.signature()),
            reason: e.to_string(),
        })
}

/// The ABI-encoded constructor arguments of `abi` (empty when it has no constructor and no
/// argument is given), to append to the creation bytecode.
pub fn encode_constructor(abi: &JsonAbi, args: &[String]) -> Result<Vec<u8>, AbiError> {
    let params: &[Param] = abi
        .constructor
        .as_ref()
        .map_or(&[], |c| c.inputs.as_slice());
    let values = parse_args("the constructor", params, args)?;
    Ok(DynSolValue::Tuple(values).abi_encode_params())
}

/// `function`'s return data as text, one string per return value.
pub fn decode_output(function: &Function, data: &[u8]) -> Result<Vec<String>, AbiError> {
    Ok(output_values(function, data)?
        .iter()
        .map(format_value)
        .collect())
}

/// `function`'s return data as JSON: the single return value itself, or an object of the
/// return values by name (an array when any is unnamed). Values map as [`value_json`] says.
pub fn decode_output_json(function: &Function, data: &[u8]) -> Result<serde_json::Value, AbiError> {
    let values = output_values(function, data)?;
    Ok(params_json(&function.outputs, &values, true))
}

fn output_values(function: &Function, data: &[u8]) -> Result<Vec<DynSolValue>, AbiError> {
    function
        .abi_decode_output(data)
        .map_err(|e| AbiError::Decode {
            what: format!("the return data of {}", function.signature()),
            reason: e.to_string(),
        })
}

/// Values of `params` as JSON: one value unwrapped when `unwrap_single`, an object by name
/// when every parameter is named, an array otherwise.
fn params_json(params: &[Param], values: &[DynSolValue], unwrap_single: bool) -> serde_json::Value {
    if unwrap_single && params.len() == 1 && values.len() == 1 {
        return value_json(&params[0].components, &values[0]);
    }
    let named = !params.is_empty() && params.iter().all(|p| !p.name.is_empty());
    if named && params.len() == values.len() {
        serde_json::Value::Object(
            params
                .iter()
                .zip(values)
                .map(|(p, v)| (p.name.clone(), value_json(&p.components, v)))
                .collect(),
        )
    } else {
        serde_json::Value::Array(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| value_json(params.get(i).map_or(&[], |p| p.components.as_slice()), v))
                .collect(),
        )
    }
}

/// A value as JSON: integers as decimal strings (they exceed a double's exact range), booleans
/// as booleans, strings as strings, bytes as `0x` hex, addresses checksummed, arrays as
/// arrays, and tuples (structs) as objects by field name when `components` names them all.
pub fn value_json(components: &[Param], v: &DynSolValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(i, _) => Value::String(i.to_string()),
        DynSolValue::Uint(u, _) => Value::String(u.to_string()),
        DynSolValue::String(s) => Value::String(s.clone()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => Value::Array(
            items
                .iter()
                .map(|item| value_json(components, item))
                .collect(),
        ),
        DynSolValue::Tuple(items) => params_json(components, items, false),
        other => Value::String(format_value(other)),
    }
}

/// A custom error of `abi` that `data` (revert data) encodes, as `Name(arg, ...)`.
pub fn decode_custom_error(abi: &JsonAbi, data: &[u8]) -> Option<String> {
    let selector = data.get(..4)?;
    let error = abi.errors().find(|e| e.selector().as_slice() == selector)?;
    let decoded = error.decode_error(data).ok()?;
    let args: Vec<String> = error
        .inputs
        .iter()
        .zip(&decoded.body)
        .map(|(p, v)| named(&p.name, v))
        .collect();
    Some(format!("{}({})", error.name, args.join(", ")))
}

/// A log decoded with an ABI: the event's name and its fields in declaration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedLog {
    /// The event's name.
    pub name: String,
    /// Its signature, e.g. `Transfer(address,address,uint256)`.
    pub signature: String,
    /// `(field name, value as text)`, in the order the event declares them.
    pub fields: Vec<(String, String)>,
    /// The fields' Solidity types, in the same order.
    pub types: Vec<String>,
}

/// Calldata decoded with an ABI: the function and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedCall {
    /// The function's name.
    pub name: String,
    /// Its signature, e.g. `transfer(address,uint256)`.
    pub signature: String,
    /// `(parameter name, value as text)`, in order.
    pub fields: Vec<(String, String)>,
    /// The parameters' Solidity types, in the same order.
    pub types: Vec<String>,
}

/// `input` (calldata) decoded with the function of `abi` its selector names; `None` when no
/// function has that selector or the arguments do not decode.
pub fn decode_call(abi: &JsonAbi, input: &[u8]) -> Option<DecodedCall> {
    let selector = input.get(..4)?;
    let function = abi
        .functions()
        .find(|f| f.selector().as_slice() == selector)?;
    let values = function.abi_decode_input(&input[4..]).ok()?;
    Some(DecodedCall {
        name: function.name.clone(),
        signature: function.signature(),
        fields: function
            .inputs
            .iter()
            .zip(&values)
            .map(|(p, v)| (p.name.clone(), format_value(v)))
            .collect(),
        types: function
            .inputs
            .iter()
            .map(|p| p.selector_type().into_owned())
            .collect(),
    })
}

/// `log` decoded with the first event of `abi` that decodes it (matched by its first topic;
/// anonymous events are not matched).
pub fn decode_log(abi: &JsonAbi, log: &Log) -> Option<DecodedLog> {
    let topic0: &B256 = log.data.topics().first()?;
    let event = abi
        .events()
        .find(|e| !e.anonymous && e.selector() == *topic0)?;
    let decoded = event
        .decode_log_parts(log.data.topics().iter().copied(), &log.data.data)
        .ok()?;
    let (mut indexed, mut body) = (decoded.indexed.iter(), decoded.body.iter());
    let fields = event
        .inputs
        .iter()
        .map(|p| {
            let v = if p.indexed {
                indexed.next()
            } else {
                body.next()
            };
            (p.name.clone(), v.map(format_value).unwrap_or_default())
        })
        .collect();
    Some(DecodedLog {
        name: event.name.clone(),
        signature: event.signature(),
        fields,
        types: event
            .inputs
            .iter()
            .map(|p| p.selector_type().into_owned())
            .collect(),
    })
}

fn named(name: &str, v: &DynSolValue) -> String {
    if name.is_empty() {
        format_value(v)
    } else {
        format!("{name}: {}", format_value(v))
    }
}

/// A value as text: numbers in decimal, addresses checksummed, bytes as `0x` hex, strings
/// quoted, arrays `[..]` and tuples `(..)`.
pub fn format_value(v: &DynSolValue) -> String {
    let list = |items: &[DynSolValue]| {
        items
            .iter()
            .map(format_value)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match v {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::FixedBytes(w, n) => format!("0x{}", hex_of(&w[..*n])),
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Function(f) => format!("0x{}", hex_of(f.as_slice())),
        DynSolValue::Bytes(b) => format!("0x{}", hex_of(b)),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => format!("[{}]", list(items)),
        DynSolValue::Tuple(items) => format!("({})", list(items)),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The Solidity type `ty`, parsed (for callers that build values themselves).
pub fn parse_type(ty: &str) -> Result<DynSolType, AbiError> {
    DynSolType::parse(ty).map_err(|e| AbiError::Signature {
        signature: ty.to_string(),
        reason: e.to_string(),
    })
}
