-- Typed quiz answers can be retried (issue 20): a wrong typed answer may be tried again until the
-- question closes, up to participation.quiz.typed_tries. The member's row holds their last try and how
-- many they used; a right answer ends it (bot/services/participation/quiz.py). Choice answers: always 1.
ALTER TABLE quiz_answers ADD COLUMN tries INTEGER NOT NULL DEFAULT 1;
