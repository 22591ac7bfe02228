"""Deep fusion methods. Each module registers one method; torch is imported lazily inside them."""
