/**
 * A deterministic generator for a podcast reviews dataset shaped like the
 * public one: about 2,000 podcasts in 24 categories (one to four each), and
 * about 1,000,000 reviews from 2023-01-01 to 2024-12-31 with J-shaped ratings,
 * titles and texts built from a vocabulary of recurring phrases, and
 * timestamps with a daily (evening peak) and weekly (Monday peak, Saturday
 * dip) rhythm plus a yearly one (January high, summer low) and growth.
 *
 * Everything is a pure function of the seed (and, for reviews, the date), so
 * one day's reviews can be generated without generating the other 730 days,
 * and the same seed always gives the same rows in the same order.
 */

/** The dataset's first and last day (inclusive). */
export const FIRST_DAY = "2023-01-01";
export const LAST_DAY = "2024-12-31";
/** Reviews over the whole two years (the per-day counts add up to about this). */
export const TOTAL_REVIEWS = 1_000_000;
export const PODCAST_COUNT = 2_000;
export const DEFAULT_SEED = 20240501;

/** Category slugs (used in partition refs) and how often podcasts pick them first. */
export const CATEGORIES: Readonly<Record<string, number>> = {
  comedy: 14,
  "society-culture": 11,
  news: 9,
  "true-crime": 9,
  education: 8,
  business: 7,
  "health-fitness": 6,
  sports: 6,
  "religion-spirituality": 6,
  arts: 5,
  "tv-film": 5,
  technology: 5,
  history: 4,
  music: 4,
  "kids-family": 4,
  science: 3,
  leisure: 3,
  fiction: 3,
  "self-improvement": 3,
  government: 2,
  "personal-journals": 2,
  "food-cooking": 2,
  travel: 2,
  "language-learning": 1,
};
export const CATEGORY_NAMES: readonly string[] = Object.keys(CATEGORIES);

export interface Podcast {
  podcastId: string;
  title: string;
  author: string;
  /** One to four category slugs, the first is the primary one. */
  categories: string[];
  /** Relative share of all reviews (Zipf-like: a few podcasts get most of them). */
  popularity: number;
  /** From -1 (disliked) to 1 (loved): shifts the rating distribution. */
  quality: number;
}

export interface Review {
  reviewId: string;
  podcastId: string;
  rating: number;
  title: string;
  content: string;
  authorId: string;
  /** Milliseconds since the epoch, UTC. */
  createdAt: number;
}

// ---------------------------------------------------------------- randomness

/** 32-bit FNV-1a of a string: turns (seed, purpose, date) into a PRNG seed. */
function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG returning floats in [0, 1). */
export function prng(seed: number, ...purpose: string[]): () => number {
  let a = hash(`${seed}:${purpose.join(":")}`);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Index into cumulative weights (binary search). */
function pickWeighted(random: () => number, cumulative: Float64Array): number {
  const x = random() * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulate(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => (out[i] = sum += w));
  return out;
}

/** A standard normal sample (Box-Muller). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

// ---------------------------------------------------------------- vocabulary

const ADJECTIVES = [
  "Daily",
  "Curious",
  "Midnight",
  "Honest",
  "Little",
  "Big",
  "Weekly",
  "Modern",
  "Hidden",
  "Brave",
  "Quiet",
  "Loud",
  "Golden",
  "Wild",
  "Deep",
  "Open",
  "Secret",
  "Happy",
  "Lazy",
  "Smart",
];
const NOUNS = [
  "Hour",
  "Minds",
  "Stories",
  "Table",
  "Talk",
  "Files",
  "Club",
  "Show",
  "Room",
  "Signal",
  "Journey",
  "Kitchen",
  "Lab",
  "Corner",
  "Desk",
  "Circle",
  "Road",
  "Garden",
  "Machine",
  "Diaries",
];
const FIRST_NAMES = [
  "Alex",
  "Sam",
  "Jordan",
  "Maria",
  "Chris",
  "Priya",
  "Tom",
  "Aisha",
  "Lena",
  "Marco",
  "Kim",
  "Omar",
  "Grace",
  "Noah",
  "Eva",
  "Ravi",
  "Sofia",
  "Ben",
  "Yuki",
  "Dana",
];
const LAST_NAMES = [
  "Smith",
  "Garcia",
  "Chen",
  "Okafor",
  "Miller",
  "Rossi",
  "Nguyen",
  "Khan",
  "Johnson",
  "Silva",
  "Novak",
  "Brown",
  "Tanaka",
  "Walsh",
  "Cohen",
  "Lopez",
];

/** Phrases by sentiment: they recur across reviews, which phrase_stats finds. */
const POSITIVE = [
  "love this show",
  "highly recommend",
  "can't wait for the next episode",
  "best podcast ever",
  "great sense of humor",
  "so much fun",
  "learned so much",
  "makes my commute better",
  "the hosts are amazing",
  "binge listened every episode",
  "great guests",
  "well researched",
  "keep up the good work",
];
const NEUTRAL = [
  "some episodes are better than others",
  "a bit too long",
  "worth a listen",
  "pretty good overall",
  "the intro is too long",
  "hit or miss",
  "good but not great",
];
const NEGATIVE = [
  "too many ads",
  "audio quality is terrible",
  "used to be good",
  "the hosts talk over each other",
  "unsubscribed after this",
  "not worth the time",
  "so much filler",
  "waste of time",
];
const TITLES: readonly (readonly string[])[] = [
  [],
  ["Terrible", "Unsubscribed", "Waste of time", "So disappointed", "Too many ads", "Unlistenable"],
  ["Not for me", "Used to be good", "Meh", "Going downhill", "Too many ads"],
  ["It's okay", "Hit or miss", "Could be better", "Decent", "Mixed feelings"],
  ["Really good", "Solid show", "Worth a listen", "Great podcast", "Enjoyable"],
  [
    "Love it!",
    "Best podcast ever",
    "Must listen",
    "Amazing",
    "Obsessed",
    "Highly recommend",
    "Five stars",
    "Great show",
  ],
];
/** Phrases about what a category's shows are about. */
const TOPICS: Readonly<Record<string, readonly string[]>> = {
  comedy: ["laugh out loud", "funny every single time", "cried laughing"],
  "society-culture": ["thought provoking conversations", "different perspectives", "real human stories"],
  news: ["keeps me informed", "balanced reporting", "the daily briefing"],
  "true-crime": ["true crime junkie", "so well researched", "gave me chills"],
  education: ["learned something new", "explains things clearly", "great for students"],
  business: ["practical business advice", "great for entrepreneurs", "actionable tips"],
  "health-fitness": ["changed my habits", "great workout motivation", "evidence based advice"],
  sports: ["great game analysis", "die hard fan", "fantasy football tips"],
  "religion-spirituality": ["feeds my soul", "uplifting message", "deep faith conversations"],
  arts: ["inspiring creative work", "beautiful storytelling", "artists I never knew"],
  "tv-film": ["spoilers ahead", "great episode recaps", "movie night picks"],
  technology: ["tech news roundup", "explains complex tech", "great for developers"],
  history: ["history comes alive", "fascinating deep dives", "never knew this history"],
  music: ["great music recommendations", "behind the songs", "new artists to discover"],
  "kids-family": ["my kids love it", "great for road trips", "family friendly"],
  science: ["mind blowing science", "makes science fun", "explains complex ideas"],
  leisure: ["perfect for relaxing", "great hobby tips", "a cozy listen"],
  fiction: ["gripping story", "amazing voice acting", "on the edge of my seat"],
  "self-improvement": ["changed my life", "great daily habits", "so motivating"],
  government: ["policy explained clearly", "inside politics", "civic minded"],
  "personal-journals": ["so relatable", "raw and honest", "feels like a friend"],
  "food-cooking": ["great recipes", "made me hungry", "cooking tips I use"],
  travel: ["travel inspiration", "bucket list ideas", "great travel tips"],
  "language-learning": ["my spanish improved", "great for beginners", "practice every day"],
};
const OPENERS = ["I", "Honestly I", "I really", "My husband and I", "My wife and I", "We", "I just"];
const TEMPLATES: readonly ((phrase: string, random: () => number) => string)[] = [
  (p) => `${cap(p)}.`,
  (p, r) => `${pick(r, OPENERS)} think ${p}.`,
  (p) => `Just have to say ${p}.`,
  (p, r) => `${cap(p)}, ${pick(r, ["seriously", "no question", "for real", "every week"])}.`,
  (p) => `This show: ${p}.`,
  (p, r) => `${pick(r, ["Found this last month", "Been listening for years", "A friend told me about it"])} and ${p}.`,
];

function cap(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------- podcasts

const podcastCache = new Map<number, Podcast[]>();

/** The podcasts of a seed (the same list every time). */
export function generatePodcasts(seed: number): Podcast[] {
  const cached = podcastCache.get(seed);
  if (cached) return cached;
  const random = prng(seed, "podcasts");
  const categoryWeights = cumulate(Object.values(CATEGORIES));
  // A random popularity rank per podcast: weight ~ 1 / (rank + 10).
  const ranks = Array.from({ length: PODCAST_COUNT }, (_, i) => i);
  for (let i = ranks.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
  }
  const podcasts: Podcast[] = [];
  for (let i = 0; i < PODCAST_COUNT; i++) {
    const categories = [CATEGORY_NAMES[pickWeighted(random, categoryWeights)]!];
    const extra = pickWeighted(random, cumulate([40, 35, 18, 7])); // 0..3 more categories
    while (categories.length < extra + 1) {
      const c = CATEGORY_NAMES[pickWeighted(random, categoryWeights)]!;
      if (!categories.includes(c)) categories.push(c);
    }
    const host = `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`;
    const style = Math.floor(random() * 4);
    const adjective = pick(random, ADJECTIVES);
    const noun = pick(random, NOUNS);
    const title =
      style === 0
        ? `The ${adjective} ${noun}`
        : style === 1
          ? `${adjective} ${noun} Podcast`
          : style === 2
            ? `${host.split(" ")[0]}'s ${noun}`
            : `${noun} with ${host}`;
    podcasts.push({
      podcastId: `pod-${String(i + 1).padStart(4, "0")}`,
      title,
      author: host,
      categories,
      popularity: 1 / (ranks[i]! + 10),
      // Skewed towards liked: most shows people bother to review are ones they like.
      quality: Math.max(-1, Math.min(1, 0.35 + 0.45 * gaussian(random))),
    });
  }
  podcastCache.set(seed, podcasts);
  return podcasts;
}

// ---------------------------------------------------------------- review counts

const DAY_MS = 86_400_000;
const FIRST_MS = Date.parse(`${FIRST_DAY}T00:00:00Z`);
const LAST_MS = Date.parse(`${LAST_DAY}T00:00:00Z`);
/** Monday first: more reviews early in the week, fewest on Saturday. */
const WEEKDAY_FACTOR = [1.12, 1.1, 1.04, 1.0, 0.9, 0.8, 0.94];
/** Reviews by hour of day (UTC): a trough at night, a peak in the evening. */
const HOUR_WEIGHTS = cumulate([
  2.5, 1.8, 1.2, 0.8, 0.6, 0.7, 1.2, 2.2, 3.4, 4.2, 4.6, 4.8, 5.2, 5.0, 4.8, 4.9, 5.2, 5.8, 6.6, 7.4, 7.8, 7.2, 5.6,
  3.8,
]);

/** True when `date` (YYYY-MM-DD) is a real day inside the dataset. */
export function inDataset(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const ms = Date.parse(`${date}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === date && ms >= FIRST_MS && ms <= LAST_MS;
}

/** The expected share of a day before normalization: weekday x season x growth. */
function dayShape(ms: number): number {
  const weekday = (new Date(ms).getUTCDay() + 6) % 7;
  const dayOfYear = (ms - Date.UTC(new Date(ms).getUTCFullYear(), 0, 1)) / DAY_MS;
  const season = 1 + 0.15 * Math.cos((2 * Math.PI * dayOfYear) / 365.25); // high in winter, low in summer
  const growth = 1 + (0.3 * (ms - FIRST_MS)) / (LAST_MS - FIRST_MS); // 30% more reviews by the end
  return WEEKDAY_FACTOR[weekday]! * season * growth;
}

let shapeTotal = 0;
function totalShape(): number {
  if (shapeTotal === 0) for (let ms = FIRST_MS; ms <= LAST_MS; ms += DAY_MS) shapeTotal += dayShape(ms);
  return shapeTotal;
}

/** How many reviews `date` has: cheap, so the whole dataset's size is known without generating it. */
export function reviewCount(seed: number, date: string): number {
  if (!inDataset(date)) throw new Error(`${date} is outside the dataset (${FIRST_DAY} to ${LAST_DAY})`);
  const ms = Date.parse(`${date}T00:00:00Z`);
  const expected = (TOTAL_REVIEWS * dayShape(ms)) / totalShape();
  const noise = 1 + 0.06 * Math.max(-3, Math.min(3, gaussian(prng(seed, "count", date))));
  return Math.round(expected * noise);
}

/** Every day of the dataset, in order. */
export function allDays(): string[] {
  const days: string[] = [];
  for (let ms = FIRST_MS; ms <= LAST_MS; ms += DAY_MS) days.push(new Date(ms).toISOString().slice(0, 10));
  return days;
}

// ---------------------------------------------------------------- reviews

function ratingFor(random: () => number, quality: number): number {
  // J-shaped: mostly fives, a bump of ones, little in between.
  const p5 = 0.7 + 0.17 * quality;
  const p1 = 0.09 - 0.06 * quality;
  const p4 = 0.1 - 0.02 * quality;
  const p3 = 0.05 - 0.01 * quality;
  const x = random();
  if (x < p5) return 5;
  if (x < p5 + p4) return 4;
  if (x < p5 + p4 + p3) return 3;
  if (x < 1 - p1) return 2;
  return 1;
}

function sentence(random: () => number, rating: number, categories: readonly string[]): string {
  const x = random();
  let pool: readonly string[];
  if (x < 0.3) pool = TOPICS[pick(random, categories)] ?? POSITIVE;
  else if (rating >= 4) pool = x < 0.9 ? POSITIVE : NEUTRAL;
  else if (rating === 3) pool = x < 0.75 ? NEUTRAL : x < 0.9 ? NEGATIVE : POSITIVE;
  else pool = x < 0.85 ? NEGATIVE : NEUTRAL;
  return pick(random, TEMPLATES)(pick(random, pool), random);
}

/** The reviews written on `date` (YYYY-MM-DD), sorted by time. */
export function generateReviews(seed: number, date: string): Review[] {
  const count = reviewCount(seed, date);
  const podcasts = generatePodcasts(seed);
  const popularity = cumulate(podcasts.map((p) => p.popularity));
  const random = prng(seed, "reviews", date);
  const dayStart = Date.parse(`${date}T00:00:00Z`);
  const reviews: Review[] = [];
  for (let i = 0; i < count; i++) {
    const podcast = podcasts[pickWeighted(random, popularity)]!;
    const rating = ratingFor(random, podcast.quality);
    const hour = pickWeighted(random, HOUR_WEIGHTS);
    const createdAt = dayStart + hour * 3_600_000 + Math.floor(random() * 3_600) * 1_000;
    const sentences = 1 + pickWeighted(random, cumulate([35, 35, 20, 10]));
    const content = Array.from({ length: sentences }, () => sentence(random, rating, podcast.categories)).join(" ");
    // Reviewers: a long tail, a few review a lot.
    const authorId = `user-${Math.floor(Math.pow(400_000, random()))}`;
    reviews.push({
      reviewId: "",
      podcastId: podcast.podcastId,
      rating,
      title: pick(random, TITLES[rating]!),
      content,
      authorId,
      createdAt,
    });
  }
  // A stable sort: equal timestamps keep generation order.
  reviews.sort((a, b) => a.createdAt - b.createdAt);
  const compact = date.replaceAll("-", "");
  reviews.forEach((r, i) => (r.reviewId = `r${compact}-${String(i + 1).padStart(5, "0")}`));
  return reviews;
}
