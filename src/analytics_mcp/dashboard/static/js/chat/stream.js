// Server-Sent Events over fetch (EventSource cannot POST): yields {type, data} per event, with
// `data` parsed as JSON. Handles CRLF/LF line ends and events split across network chunks.

function parseBlock(block) {
  let type = 'message';
  const lines = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') lines.push(value);
  }
  if (!lines.length) return null;
  try {
    return {type, data: JSON.parse(lines.join('\n'))};
  } catch {
    return {type, data: null};
  }
}

export async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      // A trailing "\r" may be the first half of "\r\n": keep it until the next chunk.
      buffer = (buffer + value).replace(/\r\n|\r(?=[\s\S])/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
    }
    const last = parseBlock(buffer.replace(/\r/g, ''));
    if (last) yield last;
  } finally {
    reader.releaseLock();
  }
}
