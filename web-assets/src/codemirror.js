// The query editor: CodeMirror 6 with the SPARQL mode, as one small API for static/js/query.js.
import { EditorView, basicSetup } from "codemirror";
import { EditorState, Prec, StateEffect, StateField } from "@codemirror/state";
import { Decoration, keymap } from "@codemirror/view";
import { StreamLanguage } from "@codemirror/language";
import { autocompletion } from "@codemirror/autocomplete";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";

const KEYWORDS = ("SELECT CONSTRUCT DESCRIBE ASK WHERE FILTER OPTIONAL UNION MINUS GRAPH BIND VALUES " +
  "DISTINCT REDUCED ORDER BY GROUP HAVING LIMIT OFFSET PREFIX BASE FROM NAMED AS EXISTS NOT IN " +
  "COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT STR LANG LANGMATCHES DATATYPE IRI BOUND COALESCE IF " +
  "REGEX CONTAINS STRSTARTS STRENDS LCASE UCASE YEAR ASC DESC").split(" ");

const setError = StateEffect.define();
const errorField = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(setError)) {
        marks = effect.value === null ? Decoration.none
          : Decoration.set([Decoration.mark({ class: "cm-sparql-error" }).range(effect.value.from, effect.value.to)]);
      }
    }
    return tr.docChanged ? Decoration.none : marks;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/**
 * Make an editor in `parent`.
 * options: doc (text), onRun (called by Ctrl/Cmd+Enter), words (extra completions:
 * prefixed names such as "fip:CooperationLink"), label (accessible name).
 */
export function createEditor(parent, { doc = "", onRun = () => {}, words = [], label = "SPARQL query", nonce = "" } = {}) {
  const vocabulary = [...KEYWORDS.map((w) => ({ label: w, type: "keyword" })),
    ...words.map((w) => ({ label: w, type: "variable" }))];
  const complete = (context) => {
    const word = context.matchBefore(/[\w:-]+/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    return { from: word.from, options: vocabulary, validFor: /^[\w:-]*$/ };
  };
  const run = () => { onRun(); return true; };
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        Prec.highest(keymap.of([{ key: "Mod-Enter", run }, { key: "Shift-Enter", run }])),
        basicSetup,
        StreamLanguage.define(sparql),
        autocompletion({ override: [complete] }),
        errorField,
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": label }),
        ...(nonce ? [EditorView.cspNonce.of(nonce)] : []),
      ],
    }),
  });
  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    focus: () => view.focus(),
    /** Mark the character at 1-based `line`, `column` (the parser's position) and go there. */
    markError(line, column) {
      const doc = view.state.doc;
      const ln = doc.line(Math.min(Math.max(line, 1), doc.lines));
      // past the end of the line (the parser stopped there): mark the line's last character
      const from = Math.max(ln.from, Math.min(ln.from + Math.max(column - 1, 0), ln.to - 1));
      const to = Math.min(from + 1, ln.to);
      view.dispatch({ effects: setError.of(from < to ? { from, to } : null),
        selection: { anchor: from }, scrollIntoView: true });
    },
    clearError: () => view.dispatch({ effects: setError.of(null) }),
  };
}
