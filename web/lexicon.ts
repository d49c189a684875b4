// A small part-of-speech lexicon for the chapter's example (web/chapter.ts): enough words to tag
// the page's sentences, and suffix rules for the rest. Words are tagged, not tokens: every
// BPE piece of " verdant" (" ver", "d", "ant") carries the word's tag.

export const TAGS = ['noun', 'adjective', 'determiner', 'verb', 'preposition', 'pronoun', 'adverb', 'other'] as const;
export type Tag = (typeof TAGS)[number];

const WORDS: Record<Exclude<Tag, 'other'>, string> = {
  determiner: 'a an the this that these those my your his her its our their some every each no any another',
  adjective:
    'fluffy blue verdant green small big large little red quiet old young happy sad dark bright tall short soft warm cold wild ' +
    'tiny huge beautiful brown black white yellow gentle fierce strange ancient deep shiny golden silver lazy quick sleepy hungry ' +
    'curious clever brave calm loud noisy purple orange pink grey gray furry friendly lonely giant smooth rough heavy light new',
  noun:
    'creature forest woods wood animal cat dog tree trees river mountain sky house bird fox child children king queen man woman ' +
    'girl boy sun moon star stars world city road field flower flowers sea lake rain wind night day morning dragon monster owl ' +
    'wolf bear rabbit mouse path stone garden song story book door window light fire water grass leaves cave hill valley',
  verb:
    'roamed arrived is was were are be been ran jumped sat saw ate slept walked flew sang barked wandered ' +
    'lived found looked watched heard sees runs walks flies sleeps eats sings roams arrives has had have did does made makes',
  preposition: 'in on at of to from with by over under through into and or but until while before after near across beside',
  pronoun: 'it he she they we i you him them us me',
  adverb: 'very quietly slowly quickly softly gently suddenly always never often then soon here there',
};

const LEXICON = new Map<string, Tag>();
for (const [tag, words] of Object.entries(WORDS) as [Tag, string][]) for (const w of words.split(' ')) LEXICON.set(w, tag);

/** The tag of one word (lower-cased letters); unknown words by suffix, else noun (most unknown words are). */
export function tagWord(word: string): Tag {
  const w = word.toLowerCase();
  if (!/[a-z]/.test(w)) return 'other';
  const known = LEXICON.get(w);
  if (known) return known;
  if (w.endsWith('ly')) return 'adverb';
  if (/(ed|ing)$/.test(w)) return 'verb';
  if (/(ful|ous|ive|ish|able|ible|ic|less|y)$/.test(w)) return 'adjective';
  return 'noun';
}

/**
 * Tags each token by the word it belongs to: a word starts at a token that begins with
 * whitespace or punctuation (or at the first token) and runs over the pieces that follow.
 */
export function tagTokens(strings: string[]): Tag[] {
  const words: number[][] = [];
  strings.forEach((s, i) => {
    const startsWord = i === 0 || /^[\s\p{P}]/u.test(s) || /^\p{P}/u.test(strings[i - 1]!);
    if (startsWord || words.length === 0) words.push([i]);
    else words[words.length - 1]!.push(i);
  });
  const tags: Tag[] = new Array(strings.length);
  for (const w of words) {
    const text = w.map((i) => strings[i]).join('').trim().replace(/[^\p{L}]/gu, '');
    const tag = text ? tagWord(text) : 'other';
    for (const i of w) tags[i] = tag;
  }
  return tags;
}
