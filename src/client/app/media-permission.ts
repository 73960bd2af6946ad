/**
 * Whether the browser will start the camera and microphone without asking the user: both
 * permissions were decided before (granted, or denied, which the page turns into audio only or
 * receive only at once). main.ts joins the room while the camera starts only then: with a
 * permission prompt on screen the camera may take as long as the user does, and a peer that
 * joined would keep the other side waiting for an answer meanwhile (it would count that as a call
 * that does not connect, and restart ICE after 15 s).
 */
export async function mediaDecidedBefore(
  permissions: Pick<Permissions, 'query'> | undefined = globalThis.navigator?.permissions,
): Promise<boolean> {
  if (permissions === undefined) return false;
  try {
    const states = await Promise.all(
      (['camera', 'microphone'] as const).map(async (name) => (await permissions.query({ name })).state),
    );
    return states.every((state) => state !== 'prompt');
  } catch {
    // A browser that cannot say (older Firefox knows no `camera` permission): assume it asks.
    return false;
  }
}
