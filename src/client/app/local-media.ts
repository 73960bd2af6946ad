/**
 * The local camera and microphone, with graceful fallbacks: audio and video, else audio only
 * (no camera, or the camera refused), else receive-only (no microphone either). Each fallback
 * says why in words for the user.
 */

/** What the user sends. */
export type MediaMode = 'audio-video' | 'audio-only' | 'receive-only';

/** Why a device could not be used, from the DOMException name of getUserMedia. */
export type MediaProblem = 'denied' | 'not-found' | 'in-use' | 'insecure' | 'other';

/** The outcome: a stream (none when receive-only) and what went wrong on the way. */
export interface LocalMedia {
  readonly stream: MediaStream | undefined;
  readonly mode: MediaMode;
  /** What went wrong with the camera (and microphone, when receive-only), if anything. */
  readonly problem: MediaProblem | undefined;
  /** A sentence for the user when something went wrong. */
  readonly message: string | undefined;
}

/** The devices to prefer (`deviceId` as an `ideal` constraint: any other will do if they are gone). */
export interface PreferredDevices {
  readonly camera?: string;
  readonly microphone?: string;
}

/** The first request's constraints: audio and video, from the preferred devices if any. */
export function mediaConstraints(preferred: PreferredDevices): {
  audio: MediaTrackConstraintSet | true;
  video: MediaTrackConstraintSet | true;
} {
  return {
    audio: preferred.microphone === undefined ? true : { deviceId: { ideal: preferred.microphone } },
    video: preferred.camera === undefined ? true : { deviceId: { ideal: preferred.camera } },
  };
}

/**
 * Gets the best local media this browser and its user allow. `requested` is the first request
 * (audio and video, {@link mediaConstraints}) if the page already made it (early-media.ts).
 */
export async function acquireLocalMedia(
  mediaDevices: MediaDevices | undefined = navigator.mediaDevices,
  preferred: PreferredDevices = {},
  requested?: Promise<MediaStream>,
): Promise<LocalMedia> {
  const { audio, video } = mediaConstraints(preferred);
  // navigator.mediaDevices only exists in a secure context (https, or http on localhost).
  if (mediaDevices?.getUserMedia === undefined) {
    return {
      stream: undefined,
      mode: 'receive-only',
      problem: 'insecure',
      message:
        'This page is not on a secure (https) address, so the browser offers no camera or microphone. You can still see and hear the other person.',
    };
  }
  let videoProblem: MediaProblem;
  try {
    return {
      stream: await (requested ?? mediaDevices.getUserMedia({ audio, video })),
      mode: 'audio-video',
      problem: undefined,
      message: undefined,
    };
  } catch (error) {
    videoProblem = problemOf(error);
  }
  let audioProblem: MediaProblem;
  try {
    const stream = await mediaDevices.getUserMedia({ audio, video: false });
    return { stream, mode: 'audio-only', problem: videoProblem, message: audioOnlyMessage(videoProblem) };
  } catch (error) {
    audioProblem = problemOf(error);
  }
  return { stream: undefined, mode: 'receive-only', problem: audioProblem, message: receiveOnlyMessage(audioProblem) };
}

function problemOf(error: unknown): MediaProblem {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'not-found';
    case 'NotReadableError':
    case 'AbortError':
      return 'in-use';
    default:
      return 'other';
  }
}

function audioOnlyMessage(problem: MediaProblem): string {
  switch (problem) {
    case 'denied':
      return 'Camera permission was denied: the call is audio only. Allow the camera in your browser’s site settings and reload to be seen.';
    case 'not-found':
      return 'No camera found: the call is audio only.';
    case 'in-use':
      return 'The camera is in use by another application: the call is audio only.';
    default:
      return 'The camera could not be started: the call is audio only.';
  }
}

function receiveOnlyMessage(problem: MediaProblem): string {
  const rest = 'You can see and hear the other person; they cannot see or hear you.';
  switch (problem) {
    case 'denied':
      return `Camera and microphone permission was denied. ${rest} Allow them in your browser’s site settings and reload.`;
    case 'not-found':
      return `No camera or microphone found. ${rest}`;
    case 'in-use':
      return `The camera and microphone are in use by another application. ${rest}`;
    default:
      return `The camera and microphone could not be started. ${rest}`;
  }
}
