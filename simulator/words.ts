/** Vocabulary for plausible names; the real service uses Faker, whose lists we do not copy. */

export const FIRST_NAMES = [
  'Aaliyah', 'Adam', 'Aiko', 'Alejandro', 'Amara', 'Anders', 'Anika', 'Ari', 'Beatriz', 'Ben',
  'Bianca', 'Carlos', 'Chen', 'Chloe', 'Dara', 'David', 'Diego', 'Elena', 'Eli', 'Emeka',
  'Emma', 'Fatima', 'Felix', 'Freya', 'Gabriel', 'Grace', 'Hana', 'Hugo', 'Ines', 'Isaac',
  'Ivan', 'Jada', 'James', 'Jin', 'Jonas', 'Julia', 'Kai', 'Kemi', 'Lars', 'Layla',
  'Leo', 'Lina', 'Luca', 'Maya', 'Mateo', 'Mei', 'Mia', 'Nadia', 'Noah', 'Nora',
  'Olga', 'Omar', 'Oscar', 'Priya', 'Quinn', 'Rafael', 'Rania', 'Ravi', 'Rosa', 'Sami',
  'Sara', 'Sofia', 'Tariq', 'Tess', 'Theo', 'Uma', 'Victor', 'Wen', 'Yara', 'Zoe',
] as const;

export const LAST_NAMES = [
  'Abbott', 'Adeyemi', 'Alvarez', 'Andersen', 'Bauer', 'Bianchi', 'Brooks', 'Castro', 'Chen', 'Costa',
  'Dubois', 'Eriksen', 'Evans', 'Fischer', 'Garcia', 'Gupta', 'Haddad', 'Hansen', 'Hughes', 'Ibrahim',
  'Ito', 'Jensen', 'Kim', 'Kowalski', 'Kumar', 'Larsen', 'Lopez', 'Martin', 'Meyer', 'Moreau',
  'Nakamura', 'Nguyen', 'Novak', 'Okafor', 'Olsen', 'Park', 'Patel', 'Perez', 'Petrov', 'Quinn',
  'Rossi', 'Santos', 'Schmidt', 'Silva', 'Singh', 'Smith', 'Tanaka', 'Torres', 'Wang', 'Weber',
] as const;

export const WORDS = [
  'amber', 'anchor', 'ash', 'aurora', 'autumn', 'blue', 'bloom', 'breeze', 'canyon', 'cedar',
  'chrome', 'cloud', 'comet', 'coral', 'crimson', 'crystal', 'dawn', 'delta', 'desert', 'drift',
  'dusk', 'echo', 'ember', 'fable', 'feather', 'fire', 'flame', 'fog', 'forest', 'frost',
  'galaxy', 'garden', 'ghost', 'glass', 'gold', 'harbor', 'haze', 'heart', 'honey', 'horizon',
  'island', 'ivory', 'jade', 'jungle', 'lake', 'light', 'lime', 'lotus', 'lunar', 'maple',
  'meadow', 'mirror', 'mist', 'moon', 'neon', 'night', 'ocean', 'onyx', 'orbit', 'paper',
  'pearl', 'pine', 'prism', 'pulse', 'quartz', 'rain', 'raven', 'river', 'rose', 'rust',
  'salt', 'shadow', 'silver', 'sky', 'smoke', 'snow', 'solar', 'spark', 'stone', 'storm',
  'summer', 'sun', 'thunder', 'tide', 'velvet', 'violet', 'wave', 'whisper', 'wild', 'willow',
  'wind', 'winter', 'wolf', 'wonder', 'yellow', 'zephyr',
] as const;

export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.test', 'inbox.test'] as const;
