/**
 * Tag selection as Ansible does it: `always` runs unless skipped by name, `never` runs only
 * when asked for by name, `tagged`/`untagged`/`all` are the special selectors.
 */
export function selectedByTags(taskTags: string[], only: string[] | undefined, skip: string[] | undefined): boolean {
  const tags = new Set(taskTags);
  const skipSet = new Set(skip ?? []);
  if ([...tags].some((tag) => skipSet.has(tag)) || (skipSet.has('tagged') && tags.size > 0) || (skipSet.has('untagged') && tags.size === 0)) {
    return false;
  }
  if (skipSet.has('all') && !tags.has('always')) return false;
  if (!only || only.length === 0 || only.includes('all')) return !tags.has('never') || (only ?? []).some((tag) => tag !== 'all' && tags.has(tag));
  if (tags.has('always')) return true;
  if (only.includes('tagged') && tags.size > 0 && !tags.has('never')) return true;
  if (only.includes('untagged') && tags.size === 0) return true;
  return only.some((tag) => tags.has(tag));
}
