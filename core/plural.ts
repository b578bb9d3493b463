/** "1 frame", "2 frames": a count with its noun, which takes an s except after exactly one. */
export function plural(n: number, noun: string, many = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : many}`;
}
