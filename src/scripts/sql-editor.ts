/**
 * The SQL page's editor: CodeMirror 6 with its SQL language over the page's plain
 * textarea, which stays the form field (and the whole editor without JavaScript).
 * Highlighting, completion of the composite's schema names (passed by the page as JSON),
 * Ctrl/Cmd-Enter runs, Format, and the last statements run in this browser.
 */
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { sql, SQLite, type SQLNamespace } from '@codemirror/lang-sql';
import { formatDialect, sqlite } from 'sql-formatter';

const RECENT_KEPT = 10;

function mount(form: HTMLFormElement): void {
  const textarea = form.querySelector<HTMLTextAreaElement>('textarea[name="sql"]');
  const schemaElement = document.getElementById('sql-schema');
  if (!textarea || !schemaElement) return;
  const { schema, defaultTable, context } = JSON.parse(schemaElement.textContent ?? '{}') as { schema: SQLNamespace; defaultTable?: string; context: string };
  const recentKey = `yard-sql-recent:${context}`;

  // The form's submit listener (below) copies the editor's text into the textarea.
  const run = () => {
    form.requestSubmit();
    return true;
  };
  // In a shadow root CodeMirror styles itself with constructed style sheets; on the page
  // itself it would add a <style> element, which the policy (style-src 'self') refuses.
  const host = document.createElement('div');
  host.dataset.sqlEditor = '';
  textarea.insertAdjacentElement('afterend', host);
  const shadow = host.attachShadow({ mode: 'open' });
  const view = new EditorView({
    doc: textarea.value,
    root: shadow,
    parent: shadow,
    extensions: [
      keymap.of([{ key: 'Mod-Enter', run, preventDefault: true }]),
      // What an editor for one statement needs of CodeMirror's basicSetup; search, folding
      // and linting are left out to keep the page's script small.
      lineNumbers(),
      history(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      closeBrackets(),
      autocompletion(),
      highlightActiveLine(),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
      sql({ dialect: SQLite, schema, defaultTable, upperCaseKeywords: true }),
      EditorView.contentAttributes.of({ 'aria-label': 'SQL statement', 'aria-describedby': textarea.getAttribute('aria-describedby') ?? '' }),
      // The page's styles do not reach into the shadow root: the frame is drawn here.
      EditorView.theme({
        '&': { minHeight: '9rem', fontSize: '0.875rem', border: '1px solid #cbd5e1', borderRadius: '0.25rem', backgroundColor: '#ffffff', color: '#0f172a' },
        '&.cm-focused': { outline: '2px solid #2563eb', outlineOffset: '2px' },
        '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace' },
        '.cm-gutters': { backgroundColor: '#f1f5f9', color: '#475569', borderRight: '1px solid #cbd5e1' },
      }),
    ],
  });
  textarea.hidden = true;

  const replace = (text: string) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });

  form.addEventListener('submit', () => {
    const statement = view.state.doc.toString();
    textarea.value = statement;
    const recent = [statement, ...readRecent(recentKey).filter((s) => s !== statement)].slice(0, RECENT_KEPT);
    localStorage.setItem(recentKey, JSON.stringify(recent));
  });

  const formatButton = form.querySelector<HTMLButtonElement>('[data-format]');
  if (formatButton) {
    formatButton.hidden = false;
    formatButton.addEventListener('click', () => {
      try {
        replace(formatDialect(view.state.doc.toString(), { dialect: sqlite, keywordCase: 'upper' }));
      } catch {
        // A statement the formatter cannot read is left as written; running it says what is wrong.
      }
      view.focus();
    });
  }

  const recentSelect = form.querySelector<HTMLSelectElement>('[data-recent]');
  const recent = readRecent(recentKey);
  if (recentSelect && recent.length > 0) {
    for (const statement of recent) recentSelect.add(new Option(statement.replace(/\s+/g, ' ').slice(0, 90), statement));
    recentSelect.closest<HTMLElement>('[data-recent-label]')!.hidden = false;
    recentSelect.addEventListener('change', () => {
      if (recentSelect.value) replace(recentSelect.value);
      view.focus();
    });
  }
}

function readRecent(key: string): string[] {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? '[]');
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

const form = document.querySelector<HTMLFormElement>('form[data-sql-form]');
if (form) mount(form);
