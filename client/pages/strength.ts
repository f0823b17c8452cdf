/**
 * Password strength (flows.md "Registration": length >= 10, refuse the most common passwords, allow at least
 * 128 characters, show strength). zxcvbn-ts with its common dictionary and keyboard graphs, loaded on demand
 * because the dictionary is large. English sentences are ours: @zxcvbn-ts/language-en is not a dependency.
 */
import { $, markInvalid } from './dom.js';

export const MIN_LENGTH = 10;
export const MIN_SCORE = 2;

export interface Strength {
  score: number;
  ok: boolean;
  label: string;
  /** Why the password is refused, when it is. */
  reason: string | null;
  feedback: string[];
}

type Checker = (password: string, userInputs: string[]) => { score: number; warning: string | null; suggestions: string[] };

const translations = {
  warnings: {
    straightRow: 'A row of keys next to each other is easy to guess.',
    keyPattern: 'Short keyboard patterns are easy to guess.',
    simpleRepeat: 'Repeated characters like "aaa" are easy to guess.',
    extendedRepeat: 'Repeated patterns like "abcabcabc" are easy to guess.',
    sequences: 'Sequences like "abc" or "6543" are easy to guess.',
    recentYears: 'Recent years are easy to guess.',
    dates: 'Dates are easy to guess.',
    topTen: 'This is one of the ten most used passwords.',
    topHundred: 'This is one of the hundred most used passwords.',
    common: 'This is a very common password.',
    similarToCommon: 'This is very close to a common password.',
    wordByItself: 'A single word is easy to guess.',
    namesByThemselves: 'Names on their own are easy to guess.',
    commonNames: 'Common names and surnames are easy to guess.',
    userInputs: 'Do not use your username or anything about this site.',
    pwned: 'This password has appeared in a data breach.',
  },
  suggestions: {
    l33t: 'Swapping letters for look-alike symbols, like "@" for "a", does not help much.',
    reverseWords: 'Spelling a common word backwards does not help much.',
    allUppercase: 'Capitalise some letters, not all of them.',
    capitalization: 'Capitalise more than the first letter.',
    dates: 'Avoid dates and years that mean something to you.',
    recentYears: 'Avoid recent years.',
    associatedYears: 'Avoid years linked to you.',
    sequences: 'Avoid common sequences of characters.',
    repeated: 'Avoid repeated words and characters.',
    longerKeyboardPattern: 'Use longer keyboard patterns and change direction several times.',
    anotherWord: 'Add more words that are less common.',
    useWords: 'Use several unrelated words together.',
    noNeed: 'You can make strong passwords without symbols, numbers or capital letters.',
    pwned: 'If you use this password anywhere else, change it there too.',
  },
  timeEstimation: {
    ltSecond: 'less than a second', second: '{base} second', seconds: '{base} seconds', minute: '{base} minute',
    minutes: '{base} minutes', hour: '{base} hour', hours: '{base} hours', day: '{base} day', days: '{base} days',
    month: '{base} month', months: '{base} months', year: '{base} year', years: '{base} years', centuries: 'centuries',
  },
};

const LABELS = ['Very weak', 'Weak', 'Fair', 'Good', 'Strong'];

let checkerPromise: Promise<Checker> | null = null;

export function loadChecker(): Promise<Checker> {
  checkerPromise ??= (async () => {
    const [{ ZxcvbnFactory }, common] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common')]);
    const zxcvbn = new ZxcvbnFactory({
      dictionary: { ...common.dictionary },
      graphs: common.adjacencyGraphs,
      translations,
      maxLength: 256,
    });
    return (password, userInputs) => {
      const r = zxcvbn.check(password, userInputs);
      return { score: r.score, warning: r.feedback.warning, suggestions: r.feedback.suggestions };
    };
  })();
  return checkerPromise;
}

export function judge(check: Checker, password: string, userInputs: string[]): Strength {
  const r = check(password, userInputs);
  const feedback = [r.warning, ...r.suggestions].filter((s): s is string => Boolean(s));
  let reason: string | null = null;
  if ([...password].length < MIN_LENGTH) {
    reason = `Use at least ${MIN_LENGTH} characters: every extra character makes your password much harder to guess.`;
  } else if (r.score < MIN_SCORE) {
    reason = 'This password is too easy to guess: it is common or follows a well-known pattern. Add a few unrelated words.';
  }
  return { score: r.score, ok: reason === null, label: LABELS[r.score] ?? '', reason, feedback };
}

export interface NewPasswordField {
  /** null when the password and its confirmation are acceptable, otherwise the sentence to show. */
  validate(): Promise<string | null>;
  password(): string;
  clear(): void;
}

/** Wires the meter of a views/partials/auth/new-password.ejs block inside `root`. */
export function attachNewPassword(root: ParentNode, userInputs: () => string[]): NewPasswordField {
  const input = $<HTMLInputElement>('[data-new-password]', root);
  const confirm = $<HTMLInputElement>('[data-confirm-password]', root);
  const meter = $('[data-strength]', root);
  const label = $('[data-strength-label]', root);
  const list = $('[data-strength-feedback]', root);
  let checker: Checker | null = null;

  const render = () => {
    const pw = input.value;
    if (!pw || !checker) {
      meter.dataset.score = '-1';
      label.textContent = '';
      delete label.dataset.tone;
      list.replaceChildren();
      return;
    }
    const s = judge(checker, pw, userInputs());
    meter.dataset.score = String(s.score);
    label.textContent = s.ok ? `Strength: ${s.label}` : `Strength: ${s.label}. ${s.reason}`;
    label.dataset.tone = s.ok ? 'ok' : 'bad';
    list.replaceChildren(...s.feedback.slice(0, 3).map((text) => Object.assign(document.createElement('li'), { textContent: text })));
  };

  void loadChecker().then((c) => {
    checker = c;
    render();
  });
  input.addEventListener('input', render);
  confirm.addEventListener('input', () => markInvalid(confirm, false));

  return {
    async validate() {
      checker ??= await loadChecker();
      const s = judge(checker, input.value, userInputs());
      markInvalid(input, !s.ok);
      if (!s.ok) return s.reason;
      if (confirm.value !== input.value) {
        markInvalid(confirm, true);
        return 'The two passwords are not the same. Type the new password again in the second field.';
      }
      return null;
    },
    password: () => input.value,
    clear() {
      input.value = '';
      confirm.value = '';
      render();
    },
  };
}

