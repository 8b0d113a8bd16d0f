// The AI chat panel: POSTs the question to /api/v1/chat (session cookie + CSRF header) and renders
// the streamed answer: Markdown text, "used tool" chips and tool results as charts or tables.
import {clear, el} from '../dom.js';
import {num} from '../format.js';
import {markdown} from './markdown.js';
import {renderToolResult} from './results.js';
import {sseEvents} from './stream.js';

const ENDPOINT = '/api/v1/chat';
const STATUS = '/api/v1/chat/status';
const SUGGESTIONS = ['How many visitors did I have this week?', 'What are my top pages in the last 30 days?',
  'Show daily visitors for the last 30 days'];

function argumentSummary(args) {
  return Object.entries(args ?? {}).filter(([key]) => key !== 'tenant')
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`).join(', ');
}

/** One assistant turn: text segments, tool chips and results, appended in arrival order. */
class Turn {
  constructor(list) {
    this.root = el('div', {class: 'msg msg-assistant'});
    this.text = null;
    this.chips = new Map();
    list.append(this.root);
  }

  addText(delta) {
    if (!this.text) {
      this.text = {raw: '', node: el('div', {class: 'md'})};
      this.root.append(this.text.node);
    }
    this.text.raw += delta;
    clear(this.text.node).append(...markdown(this.text.raw));
  }

  toolCall({id, name, arguments: args}) {
    this.text = null; // text after a tool call starts a new paragraph group
    const chip = el('span', {class: 'tool-chip pending', title: argumentSummary(args)}, `used tool ${name}`);
    this.chips.set(id, chip);
    this.root.append(el('div', {class: 'tool-line'}, chip));
  }

  toolResult({id, name, is_error: isError, data}) {
    const chip = this.chips.get(id);
    chip?.classList.remove('pending');
    chip?.classList.add(isError ? 'failed' : 'done');
    if (isError) {
      const reason = typeof data?.message === 'string' ? data.message : 'the tool reported an error';
      this.root.append(el('p', {class: 'tool-error'}, `${name}: ${reason}`));
      return;
    }
    const view = renderToolResult(data);
    if (view) this.root.append(view);
    this.text = null;
  }

  error(message) {
    this.root.append(el('p', {class: 'chat-error', role: 'alert'}, message));
  }

  done({usage, tool_calls: calls}) {
    const tokens = (usage?.input_tokens ?? 0) + (usage?.output_tokens ?? 0);
    this.root.append(el('p', {class: 'msg-meta'}, `${calls ?? 0} tool call${calls === 1 ? '' : 's'} · ${num(tokens)} tokens`));
  }
}

async function errorMessage(response) {
  const body = await response.json().catch(() => null);
  return body?.message ?? `The chat is unavailable (HTTP ${response.status}).`;
}

export function initChat({button, panel, boot, site}) {
  let conversationId = null;
  let controller = null;
  const list = el('div', {class: 'chat-messages', id: 'chat-messages', 'aria-live': 'polite'});
  const input = el('textarea', {id: 'chat-input', rows: 2, maxlength: 4000, placeholder: 'Ask about your traffic…', 'aria-label': 'Question'});
  const send = el('button', {type: 'submit', class: 'btn btn-primary', id: 'chat-send'}, 'Send');
  const form = el('form', {class: 'chat-form'}, input, send);
  const newChat = el('button', {type: 'button', class: 'btn btn-ghost btn-small', id: 'chat-new'}, 'New chat');
  const close = el('button', {type: 'button', class: 'icon-btn', 'aria-label': 'Close chat'}, '×');
  panel.append(el('div', {class: 'chat-head'}, el('strong', {}, 'Ask AI about your data'), newChat, close), list, form);

  function welcome() {
    clear(list).append(el('div', {class: 'chat-welcome'},
      el('p', {}, 'Answers come from your analytics through the same tools as the MCP server.'),
      boot.chat.enabled && el('div', {class: 'suggestions'}, SUGGESTIONS.map((text) => el('button', {
        type: 'button', class: 'suggestion', onclick: () => { input.value = text; form.requestSubmit(); },
      }, text)))));
    if (!boot.chat.enabled) list.append(el('p', {class: 'chat-error', id: 'chat-locked'}, boot.chat.reason));
  }

  function lock(reason) {
    boot.chat = {enabled: false, reason};
    button.classList.add('locked');
    button.title = reason;
    input.disabled = true;
    send.disabled = true;
  }

  // Ask once, on first open, whether the chat can answer (plan, server key, credits), so the
  // panel explains up front instead of after a question.
  let checked = false;
  async function checkStatus() {
    if (checked || !boot.chat.enabled) return;
    checked = true;
    try {
      const response = await fetch(STATUS, {headers: {Accept: 'application/json'}});
      const status = response.ok ? (await response.json()).data : null;
      if (status && !status.enabled) {
        lock(status.reason ?? 'The AI chat is not available.');
        welcome();
      }
    } catch {
      checked = false; // try again next time; a question would report the problem anyway
    }
  }

  function toggle(open) {
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (!open) return;
    if (boot.chat.enabled) input.focus();
    checkStatus();
  }

  async function ask(question) {
    list.append(el('div', {class: 'msg msg-user'}, question));
    const turn = new Turn(list);
    controller = new AbortController();
    send.disabled = true;
    try {
      const response = await fetch(ENDPOINT, {
        method: 'POST', signal: controller.signal,
        headers: {'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-CSRF-Token': boot.csrf},
        body: JSON.stringify({message: question, conversation_id: conversationId, site: site() || null}),
      });
      const type = response.headers.get('content-type') ?? '';
      if (!response.ok || !type.startsWith('text/event-stream')) return turn.error(await errorMessage(response));
      for await (const {type: kind, data} of sseEvents(response.body)) {
        if (!data) continue;
        if (kind === 'conversation') conversationId = data.conversation_id;
        else if (kind === 'text') turn.addText(data.delta ?? '');
        else if (kind === 'tool_call') turn.toolCall(data);
        else if (kind === 'tool_result') turn.toolResult(data);
        else if (kind === 'done') turn.done(data);
        else if (kind === 'error') turn.error(data.message ?? 'The chat failed.');
        list.scrollTop = list.scrollHeight;
      }
    } catch (error) {
      if (error.name !== 'AbortError') turn.error(`The connection to the chat failed: ${error.message}`);
    } finally {
      send.disabled = !boot.chat.enabled;
      controller = null;
      list.scrollTop = list.scrollHeight;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || controller || !boot.chat.enabled) return;
    input.value = '';
    if (list.querySelector('.chat-welcome')) clear(list);
    ask(question);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  newChat.addEventListener('click', () => {
    controller?.abort();
    conversationId = null;
    welcome();
  });
  close.addEventListener('click', () => toggle(false));
  button.addEventListener('click', () => toggle(panel.hidden));
  if (!boot.chat.enabled) lock(boot.chat.reason);
  welcome();
}
