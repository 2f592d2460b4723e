//! Just enough of Python's pickle format to read the package's `normalize.pickle`: a
//! dict of `min_` and `max_` lists of floats (protocol 2-5 opcodes for dicts, lists,
//! strings, floats and ints). Anything else is refused by opcode.

/// A decoded pickle value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Float(f64),
    Int(i64),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

enum Slot {
    Mark,
    V(Value),
}

/// Decodes `bytes`; errors name the opcode and offset.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    let mut stack: Vec<Slot> = Vec::new();
    let mut i = 0usize;
    let take = |i: &mut usize, n: usize| -> Result<&[u8], String> {
        let s = bytes
            .get(*i..*i + n)
            .ok_or_else(|| format!("truncated at byte {}", *i))?;
        *i += n;
        Ok(s)
    };
    loop {
        let at = i;
        let op = *take(&mut i, 1)?.first().ok_or("empty")?;
        match op {
            0x80 => {
                take(&mut i, 1)?; // PROTO
            }
            0x95 => {
                take(&mut i, 8)?; // FRAME
            }
            0x94 => {} // MEMOIZE: no back-references are supported, so nothing to keep
            b'q' => {
                take(&mut i, 1)?; // BINPUT
            }
            b'r' => {
                take(&mut i, 4)?; // LONG_BINPUT
            }
            b'(' => stack.push(Slot::Mark),
            b'}' => stack.push(Slot::V(Value::Dict(Vec::new()))),
            b']' => stack.push(Slot::V(Value::List(Vec::new()))),
            0x8c => {
                let n = take(&mut i, 1)?[0] as usize;
                let s = take(&mut i, n)?;
                stack.push(Slot::V(Value::Str(String::from_utf8_lossy(s).into())));
            }
            b'X' => {
                let n = u32::from_le_bytes(take(&mut i, 4)?.try_into().map_err(|_| "bad length")?)
                    as usize;
                let s = take(&mut i, n)?;
                stack.push(Slot::V(Value::Str(String::from_utf8_lossy(s).into())));
            }
            b'G' => {
                let b: [u8; 8] = take(&mut i, 8)?.try_into().map_err(|_| "bad float")?;
                stack.push(Slot::V(Value::Float(f64::from_be_bytes(b))));
            }
            b'K' => {
                let v = take(&mut i, 1)?[0];
                stack.push(Slot::V(Value::Int(v as i64)));
            }
            b'M' => {
                let b: [u8; 2] = take(&mut i, 2)?.try_into().map_err(|_| "bad int")?;
                stack.push(Slot::V(Value::Int(u16::from_le_bytes(b) as i64)));
            }
            b'J' => {
                let b: [u8; 4] = take(&mut i, 4)?.try_into().map_err(|_| "bad int")?;
                stack.push(Slot::V(Value::Int(i32::from_le_bytes(b) as i64)));
            }
            b'a' | b'e' => append(&mut stack, op, at)?,
            b's' | b'u' => set_items(&mut stack, op, at)?,
            b'.' => {
                return match stack.pop() {
                    Some(Slot::V(v)) => Ok(v),
                    _ => Err("STOP with nothing on the stack".into()),
                }
            }
            other => {
                return Err(format!(
                    "unsupported pickle opcode 0x{other:02x} at byte {at}"
                ))
            }
        }
    }
}

/// Pops the values above the topmost MARK (and the mark), in push order.
fn pop_to_mark(stack: &mut Vec<Slot>) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    loop {
        match stack.pop() {
            Some(Slot::Mark) => break,
            Some(Slot::V(v)) => items.push(v),
            None => return Err("no MARK on the stack".into()),
        }
    }
    items.reverse();
    Ok(items)
}

/// APPEND (`a`: one value) or APPENDS (`e`: the values above the mark) to the list below.
fn append(stack: &mut Vec<Slot>, op: u8, at: usize) -> Result<(), String> {
    let items = if op == b'a' {
        match stack.pop() {
            Some(Slot::V(v)) => vec![v],
            _ => return Err(format!("APPEND without a value at byte {at}")),
        }
    } else {
        pop_to_mark(stack)?
    };
    match stack.last_mut() {
        Some(Slot::V(Value::List(l))) => l.extend(items),
        _ => return Err(format!("APPEND(S) to a non-list at byte {at}")),
    }
    Ok(())
}

/// SETITEM (`s`: one key and value) or SETITEMS (`u`: the pairs above the mark) into
/// the dict below.
fn set_items(stack: &mut Vec<Slot>, op: u8, at: usize) -> Result<(), String> {
    let items = if op == b's' {
        let v = stack.pop();
        let k = stack.pop();
        match (k, v) {
            (Some(Slot::V(k)), Some(Slot::V(v))) => vec![k, v],
            _ => return Err(format!("SETITEM without key and value at byte {at}")),
        }
    } else {
        pop_to_mark(stack)?
    };
    if items.len() % 2 != 0 {
        return Err(format!("SETITEMS with an odd number of items at byte {at}"));
    }
    match stack.last_mut() {
        Some(Slot::V(Value::Dict(d))) => {
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                d.push((k, v));
            }
        }
        _ => return Err(format!("SETITEM(S) to a non-dict at byte {at}")),
    }
    Ok(())
}

impl Value {
    /// The value under string key `key` of a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(d) => d
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A list of numbers as f64.
    pub fn floats(&self) -> Option<Vec<f64>> {
        match self {
            Value::List(l) => l
                .iter()
                .map(|v| match v {
                    Value::Float(f) => Some(*f),
                    Value::Int(i) => Some(*i as f64),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_protocol_4_dict_of_float_lists() {
        // pickle.dumps({'min_': [0.5, -1.0], 'max_': [2.0, 3]}, protocol=4)
        let mut b = vec![0x80, 4, 0x95];
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(b"}\x94(\x8c\x04min_\x94]\x94(G");
        b.extend_from_slice(&0.5f64.to_be_bytes());
        b.push(b'G');
        b.extend_from_slice(&(-1.0f64).to_be_bytes());
        b.extend_from_slice(b"e\x8c\x04max_\x94]\x94(G");
        b.extend_from_slice(&2.0f64.to_be_bytes());
        b.extend_from_slice(b"K\x03eu.");
        let v = decode(&b).unwrap();
        assert_eq!(v.get("min_").unwrap().floats().unwrap(), vec![0.5, -1.0]);
        assert_eq!(v.get("max_").unwrap().floats().unwrap(), vec![2.0, 3.0]);
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        let err = decode(b"\x80\x04c__builtin__\neval\n").unwrap_err();
        assert!(err.contains("0x63") && err.contains("byte 2"), "{err}");
        assert!(decode(b"\x80\x04}(").unwrap_err().contains("truncated"));
    }
}
