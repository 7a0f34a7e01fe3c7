//! Names in the order a Kazakh school's register (журнал) lists them.
//!
//! Code-point order puts the Kazakh letters (Ә Ғ Қ Ң Ө Ұ Ү Һ І, U+04xx) after Я, so
//! «Әлиев» would be printed after «Яковлев». A register follows the alphabet the school
//! teaches instead: the Russian letters in their order with each Kazakh letter right after
//! its Russian neighbour — Ә after А, Ғ after Г, Қ after К, Ң after Н, Ө after О, Ұ and Ү
//! after У, Һ after Х, and І after И (the order the programme asks for, see issue 14).
//!
//! [`key`] compares letters first, case-blind, and only then by case, so «ахметов» and
//! «Ахметов» sit together. Spaces and punctuation sort before letters (word by word: «Ким
//! Виктория» before «Кимов Ерлан»), digits before letters, Latin after Cyrillic, and anything
//! else by its code point after those.

/// The register alphabet, upper case, in order.
const ALPHABET: [char; 42] = [
    'А', 'Ә', 'Б', 'В', 'Г', 'Ғ', 'Д', 'Е', 'Ё', 'Ж', 'З', 'И', 'І', 'Й', 'К', 'Қ', 'Л', 'М', 'Н',
    'Ң', 'О', 'Ө', 'П', 'Р', 'С', 'Т', 'У', 'Ұ', 'Ү', 'Ф', 'Х', 'Һ', 'Ц', 'Ч', 'Ш', 'Щ', 'Ъ', 'Ы',
    'Ь', 'Э', 'Ю', 'Я',
];

/// Weight bands: separators < digits < the register alphabet < Latin < anything else.
const DIGITS: u32 = 0x100;
const CYRILLIC: u32 = 0x200;
const LATIN: u32 = 0x300;
const OTHER: u32 = 0x1000;

/// A sort key: compare two keys to compare the names they were made from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegisterKey {
    /// Letter by letter, case-blind.
    primary: Vec<u32>,
    /// Upper case before lower case, letter by letter (only breaks ties).
    case: Vec<bool>,
    /// The text itself, so different texts never compare equal.
    text: String,
}

/// The weight of one character, case-blind.
fn weight(c: char) -> u32 {
    let upper = c.to_uppercase().next().unwrap_or(c);
    if let Some(i) = ALPHABET.iter().position(|&a| a == upper) {
        return CYRILLIC + i as u32;
    }
    if upper.is_ascii_uppercase() {
        return LATIN + (upper as u32 - 'A' as u32);
    }
    if let Some(d) = c.to_digit(10) {
        return DIGITS + d;
    }
    if c.is_whitespace() {
        return 1;
    }
    if !c.is_alphanumeric() {
        // Hyphens, quotes, dots, `№`: between words, never above a letter.
        return 2;
    }
    OTHER + c as u32
}

/// The register sort key of a name (or of any text: a class letter, a school's name).
pub fn key(text: &str) -> RegisterKey {
    let trimmed = text.trim();
    RegisterKey {
        primary: trimmed.chars().map(weight).collect(),
        case: trimmed.chars().map(|c| !c.is_uppercase()).collect(),
        text: text.to_string(),
    }
}

/// A register's order of students: class in school order (grade, then letter), then name.
/// The табель and the console's student list both sort by it.
pub fn class_then_name(class_label: &str, full_name: &str) -> (u32, RegisterKey, RegisterKey) {
    let (grade, letter) = super::class_order(class_label);
    (grade, key(&letter), key(full_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort_by_cached_key(|s| key(s));
        v
    }

    #[test]
    fn kazakh_letters_follow_their_russian_neighbours() {
        // Each pair: the Kazakh letter sorts after its neighbour and before the next
        // Russian letter.
        let triples = [
            ("Ахметов", "Әлиев", "Бекова"),
            ("Гусев", "Ғалым", "Дәулет"),
            ("Киров", "Қасымов", "Лебедев"),
            ("Нуров", "Ңа", "Орлов"),
            ("Омаров", "Өмірзақ", "Петров"),
            ("Усенов", "Ұлан", "Фомин"),
            ("Уфа", "Үсенов", "Фомин"),
            ("Ұя", "Үа", "Фа"),
            ("Хасенов", "Һадиса", "Цой"),
            ("Иванов", "Іргебаев", "Йорданов"),
        ];
        for (before, kazakh, after) in triples {
            assert_eq!(
                sorted(&[after, kazakh, before]),
                vec![before, kazakh, after],
                "{kazakh}"
            );
        }
    }

    #[test]
    fn a_kazakh_register_in_order() {
        let names = [
            "Яковлев Иван",
            "Іргебаев Нұрлан",
            "Әлиев Арман",
            "Қасымова Дана",
            "Ахметов Данияр",
            "Иванова Мария",
            "Кенжебаев Ерлан",
            "Бекова Айгерим",
            "Өмірзақ Әсел",
            "Лебедев Олег",
        ];
        assert_eq!(
            sorted(&names),
            vec![
                "Ахметов Данияр",
                "Әлиев Арман",
                "Бекова Айгерим",
                "Иванова Мария",
                "Іргебаев Нұрлан",
                "Кенжебаев Ерлан",
                "Қасымова Дана",
                "Лебедев Олег",
                "Өмірзақ Әсел",
                "Яковлев Иван",
            ]
        );
    }

    #[test]
    fn case_only_breaks_ties_and_words_come_first() {
        assert_eq!(
            sorted(&["әлиев", "Бек", "Әлиев", "Алиев"]),
            vec!["Алиев", "Әлиев", "әлиев", "Бек"]
        );
        assert_eq!(
            sorted(&["Кимов Ерлан", "Ким Виктория"]),
            vec!["Ким Виктория", "Кимов Ерлан"]
        );
        assert_eq!(
            sorted(&["Ёлкин", "Жуков", "Ежов"]),
            vec!["Ежов", "Ёлкин", "Жуков"]
        );
        assert_eq!(
            sorted(&["Smith", "Яна", "№5", "2"]),
            vec!["№5", "2", "Яна", "Smith"]
        );
    }

    #[test]
    fn classes_then_names() {
        let mut v = vec![
            ("2Ә", "Ахметов"),
            ("2Б", "Әлиев"),
            ("2А", "Яковлев"),
            ("10А", "Аа"),
            ("2А", "Әлиев"),
        ];
        v.sort_by_cached_key(|(c, n)| class_then_name(c, n));
        assert_eq!(
            v,
            vec![
                ("2А", "Әлиев"),
                ("2А", "Яковлев"),
                ("2Ә", "Ахметов"),
                ("2Б", "Әлиев"),
                ("10А", "Аа")
            ]
        );
    }

    #[test]
    fn different_texts_never_compare_equal() {
        assert_ne!(key("Ким "), key("Ким"));
        assert!(key("Ким") < key("Ким "));
    }
}
