//! A minimal, safe reader for the Python pickles of the Downsampled ImageNet
//! files: dicts, lists, tuples, numbers, strings/bytes and numpy arrays
//! (`numpy.core.multiarray._reconstruct` + BUILD state). Nothing is ever
//! executed: the only callables honoured are numpy's array/dtype
//! reconstruction and `_codecs.encode` (how protocol 2 stores bytes); any
//! other global is refused.

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    /// A numpy dtype by its code, e.g. `u1`, `i8`, `<f4`.
    Dtype(String),
    Array(Array),
    Mark,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Array {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub data: Vec<u8>,
}

impl Value {
    /// Looks up a string key in a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items.iter().find(|(k, _)| matches!(k, Value::Str(s) if s == key)).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn le(&mut self, n: usize) -> Result<u64, String> {
        Ok(self.take(n)?.iter().rev().fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }
    fn line(&mut self) -> Result<&'a str, String> {
        let rest = &self.bytes[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or("unterminated text line")?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|e| e.to_string())
    }
}

fn pop(stack: &mut Vec<Value>) -> Result<Value, String> {
    stack.pop().ok_or_else(|| "stack underflow".to_string())
}

fn pop_mark(stack: &mut Vec<Value>) -> Result<Vec<Value>, String> {
    let mark = stack.iter().rposition(|v| *v == Value::Mark).ok_or("MARK missing")?;
    let items = stack.split_off(mark + 1);
    stack.pop();
    Ok(items)
}

fn reduce(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Global(module, name) = callable else { return Err(format!("cannot call {callable:?}")) };
    let Value::Tuple(args) = args else { return Err("REDUCE arguments are not a tuple".into()) };
    match (module.as_str(), name.as_str()) {
        ("_codecs", "encode") => match args.first() {
            // Protocol 2 stores bytes as their latin-1 text.
            Some(Value::Str(s)) => Ok(Value::Bytes(s.chars().map(|c| c as u32 as u8).collect())),
            _ => Err("_codecs.encode without a string".into()),
        },
        ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => Ok(Value::Array(Array::default())),
        // Protocol ≥ 4: the raw buffer, dtype, shape and memory order.
        ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => match args.as_slice() {
            [Value::Bytes(data), Value::Dtype(dtype), Value::Tuple(shape), Value::Str(order)] if order == "C" => {
                let shape = shape
                    .iter()
                    .map(|d| match d {
                        Value::Int(n) if *n >= 0 => Ok(*n as usize),
                        _ => Err("bad ndarray shape".to_string()),
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Value::Array(Array { shape, dtype: dtype.clone(), data: data.clone() }))
            }
            _ => Err("unsupported numpy _frombuffer arguments (only C-ordered arrays)".into()),
        },
        ("numpy", "dtype") => match args.first() {
            Some(Value::Str(code)) => Ok(Value::Dtype(code.clone())),
            _ => Err("numpy.dtype without a type code".into()),
        },
        _ => Err(format!("refusing to call {module}.{name}")),
    }
}

fn build(target: Value, state: Value) -> Result<Value, String> {
    match target {
        Value::Array(_) => {
            let Value::Tuple(state) = state else { return Err("ndarray state is not a tuple".into()) };
            let [_, Value::Tuple(shape), Value::Dtype(dtype), _, data] = state.as_slice() else {
                return Err("unexpected ndarray state".into());
            };
            let shape = shape.iter().map(|d| match d {
                Value::Int(n) if *n >= 0 => Ok(*n as usize),
                _ => Err("bad ndarray shape".to_string()),
            });
            let data = match data {
                Value::Bytes(b) => b.clone(),
                Value::Str(s) => s.chars().map(|c| c as u32 as u8).collect(),
                _ => return Err("ndarray data is not bytes (object arrays are not supported)".into()),
            };
            Ok(Value::Array(Array { shape: shape.collect::<Result<_, _>>()?, dtype: dtype.clone(), data }))
        }
        // A dtype's state (byte order, flags) changes nothing for 1-byte or native types.
        Value::Dtype(code) => Ok(Value::Dtype(code)),
        other => Err(format!("cannot BUILD {other:?}")),
    }
}

/// Parses a pickle (protocols 0–5, the subset above).
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut r = Reader { bytes, pos: 0 };
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: std::collections::HashMap<u64, Value> = std::collections::HashMap::new();
    loop {
        let at = r.pos;
        let op = r.u8()?;
        match op {
            0x80 => {
                r.u8()?;
            }
            0x95 => {
                r.le(8)?;
            }
            b'.' => return pop(&mut stack),
            b'(' => stack.push(Value::Mark),
            b'}' => stack.push(Value::Dict(Vec::new())),
            b']' => stack.push(Value::List(Vec::new())),
            b')' => stack.push(Value::Tuple(Vec::new())),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'J' => stack.push(Value::Int(r.le(4)? as u32 as i32 as i64)),
            b'K' => stack.push(Value::Int(r.le(1)? as i64)),
            b'M' => stack.push(Value::Int(r.le(2)? as i64)),
            0x8a => {
                let n = r.u8()? as usize;
                let raw = r.take(n)?;
                if n > 8 {
                    return Err(format!("integer of {n} bytes at byte {at}"));
                }
                let mut v = raw.iter().rev().fold(0i64, |acc, &b| (acc << 8) | b as i64);
                if n > 0 && n < 8 && raw[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                stack.push(Value::Int(v));
            }
            b'I' | b'L' => {
                let text = r.line()?.trim_end_matches('L');
                stack.push(match text {
                    "01" => Value::Bool(true),
                    "00" => Value::Bool(false),
                    _ => Value::Int(text.parse().map_err(|_| format!("bad integer `{text}`"))?),
                });
            }
            b'G' => {
                stack.push(Value::Float(f64::from_bits(u64::from_be_bytes(r.take(8)?.try_into().expect("8 bytes")))))
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    b'X' => r.le(4)?,
                    0x8c => r.le(1)?,
                    _ => r.le(8)?,
                } as usize;
                stack.push(Value::Str(String::from_utf8(r.take(n)?.to_vec()).map_err(|e| e.to_string())?));
            }
            b'T' | b'U' => {
                // Python 2 `str`: read as latin-1 text, as `encoding='latin1'` does.
                let n = if op == b'T' { r.le(4)? } else { r.le(1)? } as usize;
                stack.push(Value::Str(r.take(n)?.iter().map(|&b| b as char).collect()));
            }
            b'B' | b'C' | 0x8e | 0x96 => {
                let n = match op {
                    b'B' => r.le(4)?,
                    b'C' => r.le(1)?,
                    _ => r.le(8)?,
                } as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'S' => {
                // Protocol 0 string: a quoted Python literal.
                let text = r.line()?;
                let inner = text
                    .strip_prefix('\'')
                    .and_then(|t| t.strip_suffix('\''))
                    .or_else(|| text.strip_prefix('"').and_then(|t| t.strip_suffix('"')))
                    .ok_or_else(|| format!("bad STRING at byte {at}"))?;
                stack.push(Value::Str(unescape(inner)));
            }
            b'c' => {
                let module = r.line()?.to_string();
                let name = r.line()?.to_string();
                stack.push(Value::Global(module, name));
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                match (module, name) {
                    (Value::Str(m), Value::Str(n)) => stack.push(Value::Global(m, n)),
                    _ => return Err(format!("STACK_GLOBAL without names at byte {at}")),
                }
            }
            b'R' | 0x81 => {
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                stack.push(reduce(callable, args).map_err(|e| format!("{e} (byte {at})"))?);
            }
            b'b' => {
                let state = pop(&mut stack)?;
                let target = pop(&mut stack)?;
                stack.push(build(target, state).map_err(|e| format!("{e} (byte {at})"))?);
            }
            b't' => {
                let items = pop_mark(&mut stack)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if stack.len() < n {
                    return Err("stack underflow".into());
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(items));
            }
            b'l' => {
                let items = pop_mark(&mut stack)?;
                stack.push(Value::List(items));
            }
            b'd' => {
                let items = pop_mark(&mut stack)?;
                let pairs = items.chunks(2).map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or(Value::None))).collect();
                stack.push(Value::Dict(pairs));
            }
            b'a' | b'e' => {
                let items = if op == b'a' { vec![pop(&mut stack)?] } else { pop_mark(&mut stack)? };
                match stack.last_mut() {
                    Some(Value::List(list)) => list.extend(items),
                    _ => return Err(format!("APPEND to a non-list at byte {at}")),
                }
            }
            b's' | b'u' => {
                let items = if op == b's' {
                    let v = pop(&mut stack)?;
                    vec![pop(&mut stack)?, v]
                } else {
                    pop_mark(&mut stack)?
                };
                match stack.last_mut() {
                    Some(Value::Dict(dict)) => {
                        dict.extend(items.chunks(2).map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or(Value::None))))
                    }
                    _ => return Err(format!("SETITEM on a non-dict at byte {at}")),
                }
            }
            b'q' | b'r' | 0x94 => {
                let key = match op {
                    b'q' => r.le(1)?,
                    b'r' => r.le(4)?,
                    _ => memo.len() as u64,
                };
                memo.insert(key, stack.last().cloned().ok_or("PUT on an empty stack")?);
            }
            b'p' => {
                let key = r.line()?.parse().map_err(|_| "bad PUT index")?;
                memo.insert(key, stack.last().cloned().ok_or("PUT on an empty stack")?);
            }
            b'h' | b'j' | b'g' => {
                let key = match op {
                    b'h' => r.le(1)?,
                    b'j' => r.le(4)?,
                    _ => r.line()?.parse().map_err(|_| "bad GET index")?,
                };
                stack.push(memo.get(&key).cloned().ok_or_else(|| format!("GET of unknown memo {key}"))?);
            }
            other => return Err(format!("unsupported pickle opcode 0x{other:02x} at byte {at}")),
        }
    }
}

/// Undoes Python's `repr` escapes in a protocol-0 string.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).map(char::from).unwrap_or('?'));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
