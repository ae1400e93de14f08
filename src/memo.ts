/**
 * A function's answers remembered by their text argument, at most `max` of them (when full, the
 * memory starts again: a flood of distinct texts from the wire costs a recomputation each, never
 * unbounded memory). `remember` can leave some texts out (the long ones).
 */
export function memoized<T>(compute: (text: string) => T, max: number, remember: (text: string) => boolean = () => true): (text: string) => T {
  const answers = new Map<string, T>();
  return (text) => {
    let answer = answers.get(text);
    if (answer === undefined) {
      answer = compute(text);
      if (!remember(text)) return answer;
      if (answers.size >= max) answers.clear();
      answers.set(text, answer);
    }
    return answer;
  };
}
